import { describe, expect, it } from 'vitest';
import { BillError, parseBill } from './bills.js';

describe('parseBill: odd files', () => {
  it('says a CSV with a header and no rows has no rows, not that its header cannot be read', () => {
    // 'date,provider,model,amount_usd\n' answered "cannot tell the bill's format from its header ()".
    for (const text of ['date,provider,model,amount_usd\n', 'start_time,line_item,amount_value\r\n\r\n']) {
      let err: unknown;
      try {
        parseBill(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BillError);
      expect((err as Error).message).toMatch(/no rows/);
      expect((err as Error).message).not.toMatch(/header \(\)/);
    }
  });
});
