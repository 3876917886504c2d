// gpu.hosts[].providers names the providers whose calls a GPU host serves: the calls carry a providers[].name, so a
// name no provider has (vLLM for vllm) matched no call, and the host's GPU-hours went to a row without a model while
// the model's own row had no GPU cost, with check-config and serve saying ok. They now warn, at the name's path.
import { describe, expect, it } from 'vitest';
import { type ConfigInput, validateConfig } from '../config/index.js';
import { startupChecks } from './startup-checks.js';

const warningsOf = (input: ConfigInput) => {
  const r = validateConfig(input);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return startupChecks(r.config, {}, 0, 64).warnings.filter((w) => w.path.startsWith('gpu.'));
};

describe('gpu.hosts[].providers', () => {
  const providers = [
    { name: 'vllm', baseUrl: 'http://gpu-node-1:8000/v1' },
    { name: 'openai', baseUrl: 'https://api.openai.com/v1' },
  ];

  it('warns about a provider name that no providers[] entry has', () => {
    const w = warningsOf({
      providers,
      gpu: {
        hosts: [
          { host: 'gpu-node-1', providers: ['vllm'] },
          { host: 'gpu-node-2', providers: ['openai', 'vLLM'] },
        ],
      },
    } as ConfigInput);
    expect(w).toEqual([
      {
        path: 'gpu.hosts[1].providers[1]',
        message: expect.stringContaining('"vLLM" is not a providers[].name (vllm, openai)'),
      },
    ]);
  });

  it('says nothing when every name is a provider, or when the config has no providers (serve --upstream)', () => {
    expect(
      warningsOf({ providers, gpu: { hosts: [{ host: 'a', providers: ['vllm'], models: ['x'] }] } } as ConfigInput),
    ).toEqual([]);
    expect(warningsOf({ gpu: { hosts: [{ host: 'a', providers: ['vllm'] }] } } as ConfigInput)).toEqual([]);
  });
});
