// Secrets beyond the first list: a Google OAuth access token (ya29.…, what Vertex AI takes as its bearer and what
// `gcloud auth print-access-token` prints), Hugging Face (hf_…), GitLab (glpat-…) and npm (npm_…) tokens, pasted bare
// into a prompt or an error, are redacted as secrets; words that merely start the same way are not.
import { describe, expect, it } from 'vitest';
import { Redactor } from './redact.js';

describe('Redactor: more token shapes', () => {
  it('redacts Google OAuth, Hugging Face, GitLab and npm tokens as secrets', () => {
    const counts: Record<string, number> = {};
    const r = new Redactor({
      onRedact: (k, n) => {
        counts[k] = (counts[k] ?? 0) + n;
      },
    });
    const tokens = [
      'ya29.a0AfB_byC3xZkR9mQ1vLw2nT8pHs4dJ6uYe0iGo5rKfNcVbXzAqWsEdRfTgYh',
      'hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789',
      'glpat-x1Y2z3A4b5C6d7E8f9G0',
      'npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789',
    ];
    const out = r.redact(`token ${tokens.join(', then ')} done`);
    for (const t of tokens) expect(out).not.toContain(t.slice(0, 12));
    expect(out).toBe(
      'token [redacted-secret], then [redacted-secret], then [redacted-secret], then [redacted-secret] done',
    );
    expect(counts).toEqual({ secret: 4 });
  });

  it('leaves words that only start like them alone', () => {
    const r = new Redactor();
    const text = 'see ya29.5 km away; hf_model and glpat-short, npm_install';
    expect(r.redact(text)).toBe(text);
  });
});
