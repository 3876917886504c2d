// Budgets while their ledger's database is out of reach (PostgreSQL restarting under load): a reservation that fails
// lets the call through (fail open, as rate limits do) and adds its cost once the ledger answers again; a settle that
// fails is tried again rather than rejecting with nobody listening, which ended the process (with `serve --workers`,
// the recorder and every worker with it).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type BudgetKey,
  BudgetService,
  budgetsFrom,
  InProcessBudgetLedger,
  type Reservation,
  type ReserveLine,
} from './budgets.js';
import { costConfigOf } from './config.js';
import { PriceBook } from './pricing.js';
import { fakeAdmission } from './testing.js';

const T = Date.parse('2025-07-15T10:00:00Z');

/** An in-process ledger whose reserve, settle and add throw while `down`. */
class FlakyLedger extends InProcessBudgetLedger {
  down = false;
  calls = { reserve: 0, settle: 0, add: 0 };
  private fail(op: 'reserve' | 'settle' | 'add'): void {
    this.calls[op]++;
    if (this.down) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  }
  override reserve(lines: readonly ReserveLine[]) {
    this.fail('reserve');
    return super.reserve(lines);
  }
  override settle(r: Reservation, usd: number): void {
    this.fail('settle');
    super.settle(r, usd);
  }
  override add(keys: readonly BudgetKey[], usd: number): void {
    this.fail('add');
    super.add(keys, usd);
  }
}

const admission = fakeAdmission;

describe('budgets with the ledger out of reach', () => {
  let ledger: FlakyLedger;
  let svc: BudgetService;
  let errors: [string, boolean][];
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  const key: BudgetKey = { budget: 'per-user', value: 'ann', periodStart: Date.parse('2025-07-15T00:00:00Z') };

  beforeEach(() => {
    vi.useFakeTimers({ now: T, toFake: ['setTimeout', 'Date'] });
    process.on('unhandledRejection', onUnhandled);
    const cfg = costConfigOf({
      budgets: [{ name: 'per-user', scope: 'user', period: 'day', limit: 1, action: 'block' }],
    });
    ledger = new FlakyLedger();
    errors = [];
    svc = new BudgetService(budgetsFrom(cfg.budgets, cfg.keys), ledger, new PriceBook(cfg.pricing), () => T, {
      onLedgerError: (op, _err, retrying) => errors.push([op, retrying]),
    });
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
    vi.useRealTimers();
  });

  it('a settle that fails is tried again until the ledger answers, with nothing unhandled', async () => {
    const a = admission('ann');
    await svc.admit(a);
    ledger.down = true;
    expect(svc.settle(a.state, 0.25)).toBe(true);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(ledger.calls.settle).toBeGreaterThanOrEqual(2);
    expect(errors.every(([op, retrying]) => op === 'settle' && retrying)).toBe(true);
    expect(ledger.state(key).spent).toBe(0);
    ledger.down = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ledger.state(key)).toMatchObject({ spent: 0.25, reserved: 0, inFlight: 0 });
    expect(unhandled).toEqual([]);
  });

  it('a settle still failing after LEDGER_RETRY_MS is given up and said so', async () => {
    const a = admission('ann');
    await svc.admit(a);
    ledger.down = true;
    svc.settle(a.state, 0.25);
    await vi.advanceTimersByTimeAsync(6 * 60_000);
    expect(errors.at(-1)).toEqual(['settle', false]);
    const tries = ledger.calls.settle;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ledger.calls.settle).toBe(tries);
    expect(unhandled).toEqual([]);
  });

  it('a reservation that fails lets the call through, and its cost is added when it ends', async () => {
    ledger.down = true;
    const a = admission('ann');
    await expect(svc.admit(a)).resolves.toBeUndefined();
    expect(errors).toEqual([['reserve', false]]);
    ledger.down = false;
    expect(svc.settle(a.state, 0.4)).toBe(true);
    await vi.advanceTimersByTimeAsync(100);
    expect(ledger.state(key)).toMatchObject({ spent: 0.4, reserved: 0, inFlight: 0 });
    expect(ledger.calls.settle).toBe(0);
    // settled once only
    expect(svc.settle(a.state, 0.4)).toBe(false);
  });
});
