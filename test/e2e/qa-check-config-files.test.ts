// check-config and the files a config names. README promises check-config makes every check serve makes at
// start-up; it read none of the files: a server.tls.cert that does not exist passed ("ok") and serve then refused to
// start ("server.tls.cert: cannot read ./cert.pem (ENOENT)"). Now that is an error, and the files serve starts
// without but logs about (costs.itemFiles, quality.knowledgeBase, quality.evaluators.nli.model) are warnings.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../src/cli/check-config.js';

async function check(yaml: string): Promise<{ code: number; out: string; err: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-qa-check-'));
  const file = join(dir, 'llmscope.yaml');
  writeFileSync(file, yaml.replaceAll('DIR', dir));
  let out = '';
  let err = '';
  const code = await checkConfig(file, { out: (s) => (out += s), err: (s) => (err += s), env: {} });
  return { code, out, err: err.replaceAll(dir, 'DIR') };
}

const BASE = 'providers: [{ name: sim, baseUrl: http://127.0.0.1:9/v1 }]\nstorage: { url: "sqlite::memory:" }\n';

describe('check-config: files the config names', () => {
  it('a TLS certificate or key that cannot be read is an error, as serve refuses to start', async () => {
    const r = await check(`${BASE}server: { tls: { cert: DIR/cert.pem, key: DIR/key.pem } }\n`);
    expect(r.code).toBe(1);
    expect(r.err).toContain('server.tls.cert: cannot read DIR/cert.pem: no such file');
    expect(r.err).toContain('server.tls.key: cannot read DIR/key.pem: no such file');
    expect(r.err).toContain('serve would not start with this config (2 problem(s))');
    expect(r.out).toBe('');
  });

  it('a TLS folder where a file belongs is an error too; readable files pass', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-qa-tls-'));
    writeFileSync(join(dir, 'cert.pem'), 'x');
    mkdirSync(join(dir, 'key.pem'));
    const r = await check(`${BASE}server: { tls: { cert: ${dir}/cert.pem, key: ${dir}/key.pem } }\n`);
    expect(r.code).toBe(1);
    expect(r.err).toContain('server.tls.key: cannot read');
    expect(r.err).toContain('a folder, not a file');
    expect(r.err).not.toContain('server.tls.cert');
  });

  it('cost item files, the knowledge base and the NLI model serve starts without are warnings', async () => {
    const r = await check(
      `${BASE}costs: { itemFiles: [DIR/june.csv] }\nquality:\n  knowledgeBase: DIR/kb\n  evaluators: { nli: { model: DIR/nli/model.onnx } }\n`,
    );
    expect(r.code).toBe(0);
    expect(r.err).toContain('warning: costs.itemFiles[0]: DIR/june.csv: no such file');
    expect(r.err).toContain('warning: quality.knowledgeBase: DIR/kb: no such folder');
    expect(r.err).toContain('warning: quality.evaluators.nli.model: DIR/nli/model.onnx: no such file');
    expect(r.out).toContain('ok (1 provider,');
  });

  it("a provider's Google credentials file serve cannot read, or that is no key, is an error", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-qa-gcred-'));
    writeFileSync(join(dir, 'notakey.json'), '{"hello": 1}');
    writeFileSync(
      join(dir, 'sa.json'),
      JSON.stringify({ type: 'service_account', client_email: 'a@b.iam.gserviceaccount.com', private_key: 'k' }),
    );
    const vertex = (name: string, cred: string) =>
      `{ name: ${name}, type: anthropic, baseUrl: https://us-east5-aiplatform.googleapis.com, googleCredentials: ${cred} }`;
    const r = await check(
      `providers:\n  - ${vertex('v1', 'DIR/missing.json')}\n  - ${vertex('v2', `${dir}/notakey.json`)}\n  - ${vertex('v3', `${dir}/sa.json`)}\n  - ${vertex('v4', 'adc')}\nstorage: { url: "sqlite::memory:" }\n`,
    );
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      'providers[0].googleCredentials: provider "v1" googleCredentials: cannot read the Google credentials file DIR/missing.json (ENOENT)',
    );
    expect(r.err).toMatch(/providers\[1\]\.googleCredentials: .*notakey\.json is not a Google credentials file/);
    expect(r.err).not.toContain('providers[2]');
    expect(r.err).not.toContain('providers[3]');
    expect(r.err).toContain('serve would not start with this config (2 problem(s))');
  });
});
