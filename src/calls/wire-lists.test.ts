// The wire's lists of endpoints and statuses (the dashboard's filters, the call schema) are the server's own.
import { describe, expect, it } from 'vitest';
import { callRecordSchema } from '../wire/calls.js';
import { WIRE_ENDPOINTS, WIRE_STATUSES } from '../wire/endpoints.js';
import { BUILT_IN_TOOLS, CALL_STATUSES, ENDPOINTS } from './index.js';
import { BILLING_UNITS } from './units.js';

describe('wire endpoints and statuses', () => {
  it('are the ones a call can have', () => {
    expect([...WIRE_ENDPOINTS].sort()).toEqual([...ENDPOINTS].sort());
    expect([...WIRE_STATUSES].sort()).toEqual([...CALL_STATUSES].sort());
    expect(callRecordSchema.shape.endpoint.options).toEqual([...WIRE_ENDPOINTS]);
    // the built-in tools a record's price may list (price.tools)
    const price = callRecordSchema.shape.price.unwrap();
    expect(price.shape.tools.unwrap().element.shape.tool.options).toEqual([...BUILT_IN_TOOLS]);
    expect(price.shape.unit.unwrap().options).toEqual([...BILLING_UNITS]);
  });
});
