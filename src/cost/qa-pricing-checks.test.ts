// A pricing.models sameAs or a pricing.aliases target that names no catalog model prices nothing, silently: serve and
// check-config (startupChecks) warn about each, naming its path; names the catalog resolves give no warning.
import { describe, expect, it } from 'vitest';
import { startupChecks } from '../cli/startup-checks.js';
import { type ConfigInput, validateConfig } from '../config/index.js';

const pricingWarnings = (pricing: ConfigInput['pricing']) => {
  const r = validateConfig({
    providers: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9/v1' }],
    pricing,
  } as ConfigInput);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return startupChecks(r.config, {}, 0, 4).warnings.filter((w) => w.path.startsWith('pricing.'));
};

describe('pricing checks at start-up', () => {
  it('warns about a sameAs and an alias that name no catalog model', () => {
    const w = pricingWarnings({
      aliases: { 'prod-chat': 'gpt-4.2-typo' },
      models: [
        { model: 'my-router', sameAs: 'claude-haikoo-4-5' },
        { model: 'local', input: 1, output: 2 },
      ],
    } as ConfigInput['pricing']);
    expect(w.map((x) => x.path)).toEqual(['pricing.models[0].sameAs', 'pricing.aliases.prod-chat']);
    expect(w[0]?.message).toContain('"claude-haikoo-4-5" is no catalog model');
    expect(w[0]?.message).toContain('"my-router"');
    expect(w[1]?.message).toContain('"gpt-4.2-typo"');
  });

  it('says why with pricing.catalog: false', () => {
    const w = pricingWarnings({ catalog: false, models: [{ model: 'r', sameAs: 'gpt-4o' }] } as ConfigInput['pricing']);
    expect(w).toEqual([
      {
        path: 'pricing.models[0].sameAs',
        message: expect.stringContaining('cannot be found with pricing.catalog: false'),
      },
    ]);
  });

  it('gives no warning for names the catalog resolves (docs/cost.md example, snapshots, Vertex and Bedrock names)', () => {
    expect(
      pricingWarnings({
        aliases: {
          'prod-chat': 'gpt-4.1',
          a: 'claude-sonnet-4-5@20250929',
          b: 'us.anthropic.claude-sonnet-4-20250514-v1:0',
        },
        models: [
          { model: 'my-router', sameAs: 'claude-haiku-4-5' },
          { model: 'r2', sameAs: 'gpt-4o-2024-08-06' },
          { model: 'r3', sameAs: 'prod-chat' },
        ],
      } as ConfigInput['pricing']),
    ).toEqual([]);
  });
});
