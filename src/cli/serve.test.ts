// serve's own pieces that need no process: the line it prints once it serves.
import { describe, expect, it } from 'vitest';
import { servingLine } from './serve.js';

describe('servingLine', () => {
  const base = 'http://127.0.0.1:8080';
  it('names the workers, and what --workers auto came to on this host', () => {
    expect(servingLine(base, 1, 1)).toBe(
      `llmscope serving on ${base}  (OpenAI base URL: ${base}/v1, dashboard: ${base}/, metrics: ${base}/metrics)\n`,
    );
    expect(servingLine(base, 4, 4)).toMatch(/ with 4 gateway workers\n$/);
    expect(servingLine(base, 'auto', 15, 16)).toMatch(
      / with 15 gateway workers \(--workers auto: 16 cores, less one for the recorder\)\n$/,
    );
    expect(servingLine(base, 'auto', 1, 2)).toMatch(
      / in one process \(--workers auto: 2 cores, less one for the recorder\)\n$/,
    );
  });
});
