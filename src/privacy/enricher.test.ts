import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { privacyEnricher } from './enricher.js';
import { Redactor } from './redact.js';

describe('privacyEnricher', () => {
  it('redacts the prompt (keeping assistant offsets), the answer and the error message of a call', () => {
    const prompt = 'from a@b.io\nI said call 415-555-0132\nok\n';
    const start = prompt.indexOf('I said');
    const end = prompt.indexOf('ok');
    const call = {
      errorMessage: "Invalid value for 'user': bob@example.com",
      internal: { promptText: prompt, assistantRanges: [start, end], outputText: 'mail c@d.io' },
    } as unknown as LlmCall;
    privacyEnricher(new Redactor()).enrich(call);
    const i = call.internal as NonNullable<LlmCall['internal']>;
    expect(i.promptText).toBe('from [redacted-email]\nI said call [redacted-phone]\nok\n');
    expect(i.promptText?.slice(i.assistantRanges?.[0], i.assistantRanges?.[1])).toBe('I said call [redacted-phone]\n');
    expect(i.outputText).toBe('mail [redacted-email]');
    expect(call.errorMessage).toBe("Invalid value for 'user': [redacted-email]");
  });
});
