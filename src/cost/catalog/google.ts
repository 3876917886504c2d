// Google Gemini API prices (paid tier, text, USD per 1M tokens). Prompts over 200K tokens (128K for 1.5) cost the
// long-context rates. Context-cache storage (per token-hour) is not a per-call cost and is not modelled.
import type { CatalogFile } from './types.js';

const source = 'https://ai.google.dev/gemini-api/docs/pricing';

export const googleCatalog: CatalogFile = {
  provider: 'google',
  checked: '2025-11-20',
  entries: [
    {
      id: 'google/gemini-3-pro-preview',
      provider: 'google',
      model: 'gemini-3-pro-preview',
      source,
      prices: [
        {
          from: '2025-11-18',
          input: 2,
          cachedInput: 0.2,
          output: 12,
          tiers: [{ aboveInputTokens: 200_000, input: 4, cachedInput: 0.4, output: 18 }],
        },
      ],
    },
    {
      id: 'google/gemini-2.5-pro',
      provider: 'google',
      model: 'gemini-2.5-pro',
      aliases: ['gemini-2.5-pro-preview-06-05', 'gemini-2.5-pro-preview-05-06', 'gemini-2.5-pro-preview-03-25'],
      source,
      prices: [
        {
          from: '2025-06-17',
          input: 1.25,
          cachedInput: 0.125,
          output: 10,
          tiers: [{ aboveInputTokens: 200_000, input: 2.5, cachedInput: 0.25, output: 15 }],
        },
      ],
    },
    {
      id: 'google/gemini-2.5-flash',
      provider: 'google',
      model: 'gemini-2.5-flash',
      aliases: ['gemini-2.5-flash-preview-09-2025'],
      source,
      prices: [{ from: '2025-06-17', input: 0.3, cachedInput: 0.03, output: 2.5 }],
    },
    {
      id: 'google/gemini-2.5-flash-lite',
      provider: 'google',
      model: 'gemini-2.5-flash-lite',
      aliases: ['gemini-2.5-flash-lite-preview-09-2025'],
      source,
      prices: [{ from: '2025-07-22', input: 0.1, cachedInput: 0.01, output: 0.4 }],
    },
    {
      id: 'google/gemini-2.0-flash',
      provider: 'google',
      model: 'gemini-2.0-flash',
      aliases: ['gemini-2.0-flash-001'],
      source,
      prices: [{ from: '2025-02-05', input: 0.1, cachedInput: 0.025, output: 0.4 }],
    },
    {
      id: 'google/gemini-2.0-flash-lite',
      provider: 'google',
      model: 'gemini-2.0-flash-lite',
      aliases: ['gemini-2.0-flash-lite-001'],
      source,
      prices: [{ from: '2025-02-25', input: 0.075, output: 0.3 }],
    },
    {
      id: 'google/gemini-1.5-pro',
      provider: 'google',
      model: 'gemini-1.5-pro',
      aliases: ['gemini-1.5-pro-002', 'gemini-1.5-pro-001'],
      source,
      note: 'Deprecated.',
      prices: [
        {
          from: '2024-10-01',
          input: 1.25,
          cachedInput: 0.3125,
          output: 5,
          tiers: [{ aboveInputTokens: 128_000, input: 2.5, cachedInput: 0.625, output: 10 }],
        },
      ],
    },
    {
      id: 'google/gemini-1.5-flash',
      provider: 'google',
      model: 'gemini-1.5-flash',
      aliases: ['gemini-1.5-flash-002', 'gemini-1.5-flash-001'],
      source,
      note: 'Deprecated.',
      prices: [
        {
          from: '2024-08-12',
          input: 0.075,
          cachedInput: 0.01875,
          output: 0.3,
          tiers: [{ aboveInputTokens: 128_000, input: 0.15, cachedInput: 0.0375, output: 0.6 }],
        },
      ],
    },
    {
      id: 'google/gemini-embedding-001',
      provider: 'google',
      model: 'gemini-embedding-001',
      kind: 'embedding',
      source,
      prices: [{ from: '2025-07-14', input: 0.15, output: 0 }],
    },
  ],
};
