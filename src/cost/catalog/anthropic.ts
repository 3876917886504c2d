// Anthropic's per-token prices (USD per 1M tokens). Cache reads cost 0.1× input, 5-minute cache writes 1.25× and
// 1-hour cache writes 2×;
// Sonnet 4 and 4.5 prompts over 200K tokens (1M-context beta) are billed at the long-context rates for the whole call.
import type { CatalogFile } from './types.js';

const source = 'https://docs.anthropic.com/en/docs/about-claude/pricing';
const sonnetLong = [
  { aboveInputTokens: 200_000, input: 6, cachedInput: 0.6, cacheWrite: 7.5, cacheWrite1h: 12, output: 22.5 },
];

export const anthropicCatalog: CatalogFile = {
  provider: 'anthropic',
  checked: '2025-11-20',
  entries: [
    {
      id: 'anthropic/claude-opus-4-5',
      provider: 'anthropic',
      model: 'claude-opus-4-5',
      aliases: ['claude-opus-4-5-20251101', 'claude-opus-4.5'],
      source,
      prices: [{ from: '2025-11-24', input: 5, cachedInput: 0.5, cacheWrite: 6.25, cacheWrite1h: 10, output: 25 }],
    },
    {
      id: 'anthropic/claude-opus-4-1',
      provider: 'anthropic',
      model: 'claude-opus-4-1',
      aliases: ['claude-opus-4-1-20250805', 'claude-opus-4.1'],
      source,
      prices: [{ from: '2025-08-05', input: 15, cachedInput: 1.5, cacheWrite: 18.75, cacheWrite1h: 30, output: 75 }],
    },
    {
      id: 'anthropic/claude-opus-4',
      provider: 'anthropic',
      model: 'claude-opus-4',
      aliases: ['claude-opus-4-20250514', 'claude-opus-4-0', 'claude-4-opus-20250514'],
      source,
      prices: [{ from: '2025-05-22', input: 15, cachedInput: 1.5, cacheWrite: 18.75, cacheWrite1h: 30, output: 75 }],
    },
    {
      id: 'anthropic/claude-sonnet-4-5',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      aliases: ['claude-sonnet-4-5-20250929', 'claude-sonnet-4.5'],
      source,
      prices: [
        {
          from: '2025-09-29',
          input: 3,
          cachedInput: 0.3,
          cacheWrite: 3.75,
          cacheWrite1h: 6,
          output: 15,
          tiers: sonnetLong,
        },
      ],
    },
    {
      id: 'anthropic/claude-sonnet-4',
      provider: 'anthropic',
      model: 'claude-sonnet-4',
      aliases: ['claude-sonnet-4-20250514', 'claude-sonnet-4-0', 'claude-4-sonnet-20250514'],
      source,
      prices: [
        {
          from: '2025-05-22',
          input: 3,
          cachedInput: 0.3,
          cacheWrite: 3.75,
          cacheWrite1h: 6,
          output: 15,
          tiers: sonnetLong,
        },
      ],
    },
    {
      id: 'anthropic/claude-3-7-sonnet',
      provider: 'anthropic',
      model: 'claude-3-7-sonnet',
      aliases: ['claude-3-7-sonnet-20250219', 'claude-3-7-sonnet-latest'],
      source,
      prices: [{ from: '2025-02-24', input: 3, cachedInput: 0.3, cacheWrite: 3.75, cacheWrite1h: 6, output: 15 }],
    },
    {
      id: 'anthropic/claude-3-5-sonnet',
      provider: 'anthropic',
      model: 'claude-3-5-sonnet',
      aliases: ['claude-3-5-sonnet-20241022', 'claude-3-5-sonnet-20240620', 'claude-3-5-sonnet-latest'],
      source,
      prices: [{ from: '2024-06-20', input: 3, cachedInput: 0.3, cacheWrite: 3.75, cacheWrite1h: 6, output: 15 }],
    },
    {
      id: 'anthropic/claude-haiku-4-5',
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      aliases: ['claude-haiku-4-5-20251001', 'claude-haiku-4.5'],
      source,
      prices: [{ from: '2025-10-15', input: 1, cachedInput: 0.1, cacheWrite: 1.25, cacheWrite1h: 2, output: 5 }],
    },
    {
      id: 'anthropic/claude-3-5-haiku',
      provider: 'anthropic',
      model: 'claude-3-5-haiku',
      aliases: ['claude-3-5-haiku-20241022', 'claude-3-5-haiku-latest'],
      source,
      prices: [{ from: '2024-11-04', input: 0.8, cachedInput: 0.08, cacheWrite: 1, cacheWrite1h: 1.6, output: 4 }],
    },
    {
      id: 'anthropic/claude-3-opus',
      provider: 'anthropic',
      model: 'claude-3-opus',
      aliases: ['claude-3-opus-20240229', 'claude-3-opus-latest'],
      source,
      prices: [{ from: '2024-03-04', input: 15, cachedInput: 1.5, cacheWrite: 18.75, cacheWrite1h: 30, output: 75 }],
    },
    {
      id: 'anthropic/claude-3-haiku',
      provider: 'anthropic',
      model: 'claude-3-haiku',
      aliases: ['claude-3-haiku-20240307'],
      source,
      prices: [
        { from: '2024-03-13', input: 0.25, cachedInput: 0.03, cacheWrite: 0.3, cacheWrite1h: 0.5, output: 1.25 },
      ],
    },
  ],
};
