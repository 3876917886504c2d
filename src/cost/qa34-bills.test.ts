// Bills in another currency are refused on every format (QA34): an Anthropic Cost Report's rows carry `currency`
// beside `amount`, as OpenAI's carry `amount.currency`; a EUR row was read as dollars.
import { describe, expect, it } from 'vitest';
import { BillError, parseBill } from './bills.js';

const report = (currency: string) =>
  JSON.stringify({
    data: [
      {
        starting_at: '2026-12-01T00:00:00Z',
        ending_at: '2026-12-02T00:00:00Z',
        results: [
          {
            currency,
            amount: '241.9746',
            workspace_id: null,
            description: 'Claude Sonnet 4.5 Usage - Input Tokens',
            cost_type: 'tokens',
            context_window: '0-200k',
            model: 'claude-sonnet-4-5-20250929',
            service_tier: 'standard',
            token_type: 'uncached_input_tokens',
          },
        ],
      },
    ],
    has_more: false,
    next_page: null,
  });

describe('bill currency', () => {
  it('reads an Anthropic Cost Report in USD (amount in cents) and refuses one in EUR, naming the entry', () => {
    const usd = parseBill(report('USD'));
    expect(usd.format).toBe('anthropic');
    expect(usd.lines[0]?.amountUsd).toBeCloseTo(2.419746, 9);
    expect(() => parseBill(report('EUR'))).toThrow(BillError);
    expect(() => parseBill(report('EUR'))).toThrow(
      'entry 1: Anthropic bill: currency EUR; only USD bills are supported',
    );
  });

  it('refuses an Anthropic cost CSV row with a currency other than USD, naming its line', () => {
    const csv =
      'usage_date_utc,model,cost_type,cost_usd,currency\n2026-12-01,claude-sonnet-4-5,tokens,1.50,USD\n2026-12-01,claude-sonnet-4-5,tokens,2.00,GBP\n';
    expect(() => parseBill(csv)).toThrow('line 3: Anthropic bill: currency GBP');
  });
});
