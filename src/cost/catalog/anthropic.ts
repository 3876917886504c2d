// Anthropic's per-token prices (USD per 1M tokens). Up to Opus/Sonnet 4.5, cache reads cost 0.1× input, 5-minute
// cache writes 1.25× and 1-hour cache writes 2×; Sonnet 4 and 4.5 prompts over 200K tokens (1M-context beta) are
// billed at the long-context rates for the whole call. From Opus 4.6 on each model's rates are as its own page lists
// them (Fable 5.1 reads its cache at 0.025× input, Opus 5.5 at 0.05×), each checked 2026-12-06 against the model's
// overview page (platform.claude.com/docs/<lang>/models/<model>/overview, `from` = the release date it gives) and,
// where the model is in it, the pricing page's table (the stored copy lists Fable 5.1 down to Opus 4.5, not yet
// Opus 5.5 or Sonnet 5.x). Left out, their first-party prices not all found: Sonnet 4.6 (no cache rates read),
// Haiku 5.5 (its cache read and its 1-hour write past 100K tokens not read), Fable 5.2 and Mythos 5.2.
import type { CatalogFile } from './types.js';

const source = 'https://docs.anthropic.com/en/docs/about-claude/pricing';
const pricingPage = 'https://platform.claude.com/docs/en/about-claude/pricing';
const overview = (lang: string, model: string) => `https://platform.claude.com/docs/${lang}/models/${model}/overview`;
const sonnetLong = [
  { aboveInputTokens: 200_000, input: 6, cachedInput: 0.6, cacheWrite: 7.5, cacheWrite1h: 12, output: 22.5 },
];

export const anthropicCatalog: CatalogFile = {
  provider: 'anthropic',
  checked: '2026-12-06',
  entries: [
    {
      id: 'anthropic/claude-fable-5-1',
      provider: 'anthropic',
      model: 'claude-fable-5-1',
      aliases: ['claude-fable-5.1'],
      source: pricingPage,
      note: "Cache reads at a quarter of Claude Fable 5's (overview: platform.claude.com/docs/zh-CN/models/fable-5-1/overview).",
      prices: [{ from: '2026-09-01', input: 10, cachedInput: 0.25, cacheWrite: 12.5, cacheWrite1h: 20, output: 50 }],
    },
    {
      id: 'anthropic/claude-mythos-5-1',
      provider: 'anthropic',
      model: 'claude-mythos-5-1',
      aliases: ['claude-mythos-5.1'],
      source: pricingPage,
      note: 'Limited availability (verified organizations); priced as Claude Fable 5.1, as the pricing page lists it.',
      prices: [{ from: '2026-09-01', input: 10, cachedInput: 0.25, cacheWrite: 12.5, cacheWrite1h: 20, output: 50 }],
    },
    {
      id: 'anthropic/claude-fable-5',
      provider: 'anthropic',
      model: 'claude-fable-5',
      source: pricingPage,
      prices: [{ from: '2026-06-09', input: 10, cachedInput: 1, cacheWrite: 12.5, cacheWrite1h: 20, output: 50 }],
    },
    {
      id: 'anthropic/claude-mythos-5',
      provider: 'anthropic',
      model: 'claude-mythos-5',
      source: pricingPage,
      note: 'Limited availability (verified organizations); priced as Claude Fable 5, as the pricing page lists it.',
      prices: [{ from: '2026-06-09', input: 10, cachedInput: 1, cacheWrite: 12.5, cacheWrite1h: 20, output: 50 }],
    },
    {
      id: 'anthropic/claude-opus-5-5',
      provider: 'anthropic',
      model: 'claude-opus-5-5',
      aliases: ['claude-opus-5.5'],
      source: overview('zh-CN', 'opus-5-5'),
      prices: [{ from: '2026-09-22', input: 4, cachedInput: 0.2, cacheWrite: 5, cacheWrite1h: 8, output: 20 }],
    },
    {
      id: 'anthropic/claude-opus-5',
      provider: 'anthropic',
      model: 'claude-opus-5',
      source: pricingPage,
      prices: [{ from: '2026-07-24', input: 5, cachedInput: 0.5, cacheWrite: 6.25, cacheWrite1h: 10, output: 25 }],
    },
    {
      id: 'anthropic/claude-opus-4-8',
      provider: 'anthropic',
      model: 'claude-opus-4-8',
      aliases: ['claude-opus-4.8'],
      source: pricingPage,
      prices: [{ from: '2026-05-28', input: 5, cachedInput: 0.5, cacheWrite: 6.25, cacheWrite1h: 10, output: 25 }],
    },
    {
      // Release date as Google Cloud's Vertex AI model page gives it (Anthropic's overview was not read).
      id: 'anthropic/claude-opus-4-7',
      provider: 'anthropic',
      model: 'claude-opus-4-7',
      aliases: ['claude-opus-4.7'],
      source: pricingPage,
      prices: [{ from: '2026-04-15', input: 5, cachedInput: 0.5, cacheWrite: 6.25, cacheWrite1h: 10, output: 25 }],
    },
    {
      id: 'anthropic/claude-opus-4-6',
      provider: 'anthropic',
      model: 'claude-opus-4-6',
      aliases: ['claude-opus-4.6'],
      source: pricingPage,
      note: 'An earlier models overview said prompts over 200K tokens (1M-context beta) cost long-context rates; the current pages list one price for its 1M context and no long-context rates, so none are modelled.',
      prices: [{ from: '2026-02-05', input: 5, cachedInput: 0.5, cacheWrite: 6.25, cacheWrite1h: 10, output: 25 }],
    },
    {
      id: 'anthropic/claude-sonnet-5-5',
      provider: 'anthropic',
      model: 'claude-sonnet-5-5',
      aliases: ['claude-sonnet-5.5'],
      source: overview('zh-CN', 'sonnet-5-5'),
      note: 'Release date not on the page read: from = its availability on the Claude API as third parties date it. Third parties report cache reads cut to $0.10 on 2026-10-07; no first-party page read says so, so $0.20 (the overview) stands.',
      prices: [{ from: '2026-09-28', input: 2, cachedInput: 0.2, cacheWrite: 2.5, cacheWrite1h: 4, output: 10 }],
    },
    {
      id: 'anthropic/claude-sonnet-5',
      provider: 'anthropic',
      model: 'claude-sonnet-5',
      source: overview('zh-CN', 'sonnet-5'),
      prices: [{ from: '2026-06-30', input: 2, cachedInput: 0.2, cacheWrite: 2.5, cacheWrite1h: 4, output: 10 }],
    },
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
