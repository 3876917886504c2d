import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, LlmscopeError, renderError } from './errors.js';

describe('errors', () => {
  it('every code is documented in docs/errors.md with its status, type and code', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    for (const [name, spec] of Object.entries(ERRORS)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| ${name} |`));
      expect(row, `${name} is not documented`).toBeDefined();
      expect(row).toContain(`| ${spec.status} | ${spec.type} | ${spec.code} |`);
    }
  });

  it('renders llmscope errors in the OpenAI shape and hides unknown ones', () => {
    const r = renderError(new LlmscopeError('LLMSCOPE_ERR_MISSING_MODEL', 'no model', { param: 'model' }));
    expect(r).toEqual({
      status: 400,
      headers: {},
      body: { error: { message: 'no model', type: 'invalid_request_error', code: 'missing_model', param: 'model' } },
    });
    const u = renderError(new TypeError('x is undefined at foo.ts:12'));
    expect(u.status).toBe(500);
    expect(JSON.stringify(u.body)).not.toContain('foo.ts');
  });
});
