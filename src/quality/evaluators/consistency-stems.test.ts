// The self-consistency check takes a sentence's stems only for the sentences a pair check compares (issue 13: its
// stems were a quarter of quality's per-call work on the gateway's event loop). Counted with a wrapped `stem`: an
// answer with no figures to compare and no negated sentence beside plain ones takes none; a negated repeat takes them
// and is still found. The verdicts themselves are compared with the full path in shortcuts.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as text from '../text.js';
import { SelfConsistencyEvaluator } from './consistency.js';

vi.mock('../text.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../text.js')>();
  return { ...orig, stem: vi.fn(orig.stem) };
});

const stem = vi.mocked(text.stem);

describe('self-consistency takes stems only where a pair check reads them', () => {
  afterEach(() => {
    stem.mockClear();
  });

  it('takes none for plain sentences without figures or negation', () => {
    const r = new SelfConsistencyEvaluator().check(
      'The service handles each request quickly. Our team reviews the latency report every week. ' +
        'Most clients read the cached answers from the local store.',
    );
    expect(r.verdict).toBe('pass');
    expect(r.explanation).toBe('no contradiction among 3 sentences');
    expect(stem).not.toHaveBeenCalled();
  });

  it('takes every sentence’s stems on the full path, with the same verdict', () => {
    const r = new SelfConsistencyEvaluator({ fullScan: true }).check(
      'The service handles each request quickly. Our team reviews the latency report every week.',
    );
    expect(r.verdict).toBe('pass');
    expect(stem).toHaveBeenCalled();
  });

  it('takes them for a negated sentence beside plain ones, and finds the negated repeat', () => {
    const r = new SelfConsistencyEvaluator().check(
      'The gateway supports streaming answers for every client. The gateway does not support streaming answers for every client.',
    );
    expect(r.verdict).toBe('fail');
    expect(r.claims?.[0]?.reasons).toEqual(['negates an earlier sentence']);
    expect(stem).toHaveBeenCalled();
  });
});
