// Amazon Bedrock's own prices, where they differ from the model vendor's: from Claude Sonnet 4.5 on, a
// geographic cross-region inference profile (us., eu., apac., jp., au., ca., us-gov.) costs 10% more than the
// global profile (global.), which costs what Anthropic charges. Every other Bedrock spelling of a catalog model
// (global. profiles, the plain anthropic.…-v1:0 ids, older models' regional profiles) is priced by the vendor's
// entry through name resolution (pricing.ts candidateNames).
import type { CatalogEntry, CatalogFile } from './types.js';

const source = 'https://aws.amazon.com/bedrock/pricing/';
const GEOS = ['us', 'us-gov', 'eu', 'apac', 'jp', 'au', 'ca'];

/** A regional-profile entry: `bedrockId` is the model's Bedrock id without a geography prefix. */
function regional(model: string, bedrockId: string, prices: CatalogEntry['prices']): CatalogEntry {
  const [first, ...rest] = GEOS.map((g) => `${g}.${bedrockId}`);
  return {
    id: `bedrock/${model}-regional`,
    provider: 'bedrock',
    model: first as string,
    aliases: rest,
    source,
    prices,
    note: `Geographic cross-region profiles of ${model}: 1.1 × the global profile's price.`,
  };
}

export const bedrockCatalog: CatalogFile = {
  provider: 'bedrock',
  checked: '2025-12-05',
  entries: [
    regional('claude-opus-4-5', 'anthropic.claude-opus-4-5-20251101-v1:0', [
      { from: '2025-11-24', input: 5.5, cachedInput: 0.55, cacheWrite: 6.875, cacheWrite1h: 11, output: 27.5 },
    ]),
    regional('claude-sonnet-4-5', 'anthropic.claude-sonnet-4-5-20250929-v1:0', [
      {
        from: '2025-09-29',
        input: 3.3,
        cachedInput: 0.33,
        cacheWrite: 4.125,
        cacheWrite1h: 6.6,
        output: 16.5,
        tiers: [
          {
            aboveInputTokens: 200_000,
            input: 6.6,
            cachedInput: 0.66,
            cacheWrite: 8.25,
            cacheWrite1h: 13.2,
            output: 24.75,
          },
        ],
      },
    ]),
    regional('claude-haiku-4-5', 'anthropic.claude-haiku-4-5-20251001-v1:0', [
      { from: '2025-10-15', input: 1.1, cachedInput: 0.11, cacheWrite: 1.375, cacheWrite1h: 2.2, output: 5.5 },
    ]),
  ],
};
