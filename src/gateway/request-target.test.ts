// requestTarget: the gateway reads a plain path as it came instead of parsing a URL per call (issue 13); every target
// must read as `new URL(target, 'http://llmscope')` reads it.
import { describe, expect, it } from 'vitest';
import { requestTarget } from './dispatch.js';

const TARGETS = [
  '/',
  '/v1/chat/completions',
  '/v1/responses/resp_123/cancel',
  '/v1beta/models/gemini-2.5-flash:generateContent',
  '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
  '/v1/projects/p-1/locations/us-central1/publishers/google/models/gemini-2.0-flash-001:predict',
  '/v1/models/org/model~v2',
  '/v1/models/...',
  '/v1/models/a.b./c',
  '/v1/chat/completions?x=1',
  '/v1/chat/completions#frag',
  '/v1/./chat/completions',
  '/v1/../v1/chat/completions',
  '/v1/chat/completions/.',
  '/v1/chat/completions/..',
  '/v1/%2e%2e/models',
  '/v1/%2E/models',
  '/v1/models/a%2Fb',
  '/v1/models/a b',
  '/v1/models/é',
  '/v1\\chat\\completions',
  '/v1/chat/completions\t',
  '/v1/models/"x"',
  '/v1/models/{x}',
  '/v1/models/a|b',
  '/v1/models/a@b',
  '/v1/models/a;b=c',
  '//v1/chat/completions',
  '/v1//chat/completions',
  '*',
  'http://example.com/v1/chat/completions',
  '',
];

describe('requestTarget', () => {
  it('reads every target as new URL does', () => {
    for (const raw of TARGETS) {
      const t = requestTarget(raw);
      const u = new URL(raw, 'http://llmscope');
      expect({ raw, pathname: t.pathname, search: t.search }).toEqual({ raw, pathname: u.pathname, search: u.search });
    }
  });

  it('takes an SDK call route as it came, without parsing a URL', () => {
    for (const raw of ['/v1/chat/completions', '/v1/messages', '/v1beta/models/gemini-2.5-flash:generateContent'])
      expect(requestTarget(raw)).toEqual({ pathname: raw, search: '' });
    // with a query, or a dot segment, it is parsed
    expect(requestTarget('/v1/chat/completions?x=1')).toBeInstanceOf(URL);
    expect(requestTarget('/v1/../v1/chat/completions')).toBeInstanceOf(URL);
  });
});
