// check-config and TLS files that can be read but do not load: serve refuses to start with them ('server.tls: the
// certificate and key do not load as PEM (...)'), so check-config must not say 'ok' (it did: it only checked that
// the files could be read). A real pair passes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../src/cli/check-config.js';
import { selfSignedCert } from './helpers.js';

async function check(cert: string, key: string): Promise<{ code: number; out: string; err: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-qa-pem-'));
  const file = join(dir, 'llmscope.yaml');
  writeFileSync(
    file,
    `providers: [{ name: sim, baseUrl: http://127.0.0.1:9/v1 }]\nstorage: { url: "sqlite::memory:" }\nserver: { tls: { cert: ${cert}, key: ${key} } }\n`,
  );
  let out = '';
  let err = '';
  const code = await checkConfig(file, { out: (s) => (out += s), err: (s) => (err += s), env: {} });
  return { code, out, err };
}

describe('check-config: TLS files that do not load', () => {
  const { dir, cert, key } = selfSignedCert('llmscope-qa-pem-files-');
  const garbage = join(dir, 'garbage.pem');
  writeFileSync(garbage, 'not a pem file\n');

  it('a key that is not PEM, or the certificate given as the key, is an error', async () => {
    for (const [c, k] of [
      [cert, garbage],
      [cert, cert],
      [garbage, key],
    ] as const) {
      const r = await check(c, k);
      expect(r.code, r.out).toBe(1);
      expect(r.err).toContain('server.tls: the certificate and key do not load as PEM (');
      expect(r.err).toContain('serve would not start with this config (1 problem(s))');
    }
  });

  it('a real certificate and its key pass', async () => {
    const r = await check(cert, key);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('ok (1 provider,');
  });
});
