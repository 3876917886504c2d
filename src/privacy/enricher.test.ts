import { describe, expect, it } from 'vitest';
import type { LlmCall, SpanRecord } from '../calls/index.js';
import { privacyEnricher, redactSpan } from './enricher.js';
import { Redactor } from './redact.js';

describe('privacyEnricher', () => {
  it('redacts the prompt (keeping assistant offsets), the answer and the error message of a call', () => {
    const prompt = 'from a@b.io\nI said call 415-555-0132\nok\n';
    const start = prompt.indexOf('I said');
    const end = prompt.indexOf('ok');
    const call = {
      errorMessage: "Invalid value for 'user': bob@example.com",
      spans: [],
      internal: { promptText: prompt, assistantRanges: [start, end], outputText: 'mail c@d.io' },
    } as unknown as LlmCall;
    privacyEnricher(new Redactor()).enrich(call);
    const i = call.internal as NonNullable<LlmCall['internal']>;
    expect(i.promptText).toBe('from [redacted-email]\nI said call [redacted-phone]\nok\n');
    expect(i.promptText?.slice(i.assistantRanges?.[0], i.assistantRanges?.[1])).toBe('I said call [redacted-phone]\n');
    expect(i.outputText).toBe('mail [redacted-email]');
    expect(call.errorMessage).toBe("Invalid value for 'user': [redacted-email]");
  });

  it('redacts the string attributes of spans a call arrives with (OTLP), and of their events', () => {
    const call = {
      errorMessage: null,
      spans: [
        {
          attributes: { 'enduser.email': 'ann@example.com', 'gen_ai.usage.input_tokens': 12, 'app.route': '/chat' },
          events: [
            { name: 'exception', attributes: { 'exception.message': 'bad card 4111 1111 1111 1111' } },
            { name: 'x' },
          ],
        },
      ],
    } as unknown as LlmCall;
    privacyEnricher(new Redactor()).enrich(call);
    expect(call.spans[0]?.attributes).toEqual({
      'enduser.email': '[redacted-email]',
      'gen_ai.usage.input_tokens': 12,
      'app.route': '/chat',
    });
    expect(call.spans[0]?.events[0]?.attributes).toEqual({ 'exception.message': 'bad card [redacted-card]' });
  });

  it('redacts the names of spans and of their events (an app names a span after its request: GET /users/<email>)', () => {
    const span = {
      name: 'GET /users/kim@example.com',
      attributes: { 'tool.arg': 'lee@example.com' },
      events: [{ name: 'retry for 192.168.1.20', time: 1 }, { name: 'exception' }],
    } as unknown as SpanRecord;
    redactSpan(new Redactor(), span);
    expect(span.name).toBe('GET /users/[redacted-email]');
    expect(span.attributes).toEqual({ 'tool.arg': '[redacted-email]' });
    expect(span.events.map((e) => e.name)).toEqual(['retry for [redacted-ip]', 'exception']);
  });
});
