// The user and session pages count unpriced calls by the cost module's rule (src/calls/units.ts unpricedCall), so they
// agree with the Cost page: a speech or image call to a model no price names is unpriced as a token call is (QA43),
// while a failed call without usage or a priced model's size its table lacks is not (QA41).
import { describe, expect, it } from 'vitest';
import { fakeCall } from '../calls/testing.js';
import { UNITS_EVENT } from '../calls/units.js';
import { SessionTotalsAcc } from './sessions.js';

const units = (attributes: Record<string, string | number>) => [{ name: UNITS_EVENT, time: 0, attributes }];

describe('unpriced calls on the session and user pages', () => {
  it("counts by the Cost page's rule: usage (tokens or units) and no price", () => {
    const acc = new SessionTotalsAcc();
    const none = { inputTokens: null, outputTokens: null };
    // a token call to an unknown model, and a speech call to one (units, no tokens): unpriced
    acc.add(fakeCall({ model: 'acme-7b' }));
    acc.add(
      fakeCall({ ...none, endpoint: 'audio.speech', model: 'my-tts', events: units({ unit: 'character', count: 12 }) }),
    );
    // a 500 without usage; a priced model's image of a size its table lacks (a price applied, cost unknown): not
    acc.add(fakeCall({ ...none, status: 'upstream_error', httpStatus: 500 }));
    acc.add(
      fakeCall({
        ...none,
        endpoint: 'images.generations',
        model: 'dall-e-3',
        price: { input: 0, output: 0, cachedInput: 0, unit: 'image', unitPrice: 0.04, units: 1, source: 'catalog' },
        events: units({ unit: 'image', count: 1, size: '640x480' }),
      }),
    );
    expect(acc.unpriced).toBe(2);
  });
});
