// Mistral AI's API prices (USD per 1M tokens). The `-latest` names point at the newest release of each family.
import type { CatalogFile } from './types.js';

const source = 'https://mistral.ai/pricing#api-pricing';

export const mistralCatalog: CatalogFile = {
  provider: 'mistral',
  checked: '2025-11-20',
  entries: [
    {
      id: 'mistral/mistral-large',
      provider: 'mistral',
      model: 'mistral-large-latest',
      aliases: ['mistral-large-2411', 'mistral-large-2407'],
      source,
      prices: [{ from: '2024-11-18', input: 2, output: 6 }],
    },
    {
      id: 'mistral/mistral-medium',
      provider: 'mistral',
      model: 'mistral-medium-latest',
      aliases: ['mistral-medium-2505', 'mistral-medium-2508'],
      source,
      prices: [{ from: '2025-05-07', input: 0.4, output: 2 }],
    },
    {
      id: 'mistral/mistral-small',
      provider: 'mistral',
      model: 'mistral-small-latest',
      aliases: ['mistral-small-2503', 'mistral-small-2506', 'mistral-small-2501'],
      source,
      prices: [{ from: '2025-01-30', input: 0.1, output: 0.3 }],
    },
    {
      id: 'mistral/codestral',
      provider: 'mistral',
      model: 'codestral-latest',
      aliases: ['codestral-2501', 'codestral-2508'],
      source,
      prices: [{ from: '2025-01-13', input: 0.3, output: 0.9 }],
    },
    {
      id: 'mistral/magistral-medium',
      provider: 'mistral',
      model: 'magistral-medium-latest',
      aliases: ['magistral-medium-2506', 'magistral-medium-2507', 'magistral-medium-2509'],
      source,
      prices: [{ from: '2025-06-10', input: 2, output: 5 }],
    },
    {
      id: 'mistral/magistral-small',
      provider: 'mistral',
      model: 'magistral-small-latest',
      aliases: ['magistral-small-2506', 'magistral-small-2507', 'magistral-small-2509'],
      source,
      prices: [{ from: '2025-06-10', input: 0.5, output: 1.5 }],
    },
    {
      id: 'mistral/pixtral-large',
      provider: 'mistral',
      model: 'pixtral-large-latest',
      aliases: ['pixtral-large-2411'],
      source,
      prices: [{ from: '2024-11-18', input: 2, output: 6 }],
    },
    {
      id: 'mistral/ministral-8b',
      provider: 'mistral',
      model: 'ministral-8b-latest',
      aliases: ['ministral-8b-2410'],
      source,
      prices: [{ from: '2024-10-16', input: 0.1, output: 0.1 }],
    },
    {
      id: 'mistral/ministral-3b',
      provider: 'mistral',
      model: 'ministral-3b-latest',
      aliases: ['ministral-3b-2410'],
      source,
      prices: [{ from: '2024-10-16', input: 0.04, output: 0.04 }],
    },
    {
      id: 'mistral/open-mistral-nemo',
      provider: 'mistral',
      model: 'open-mistral-nemo',
      aliases: ['open-mistral-nemo-2407'],
      source,
      prices: [{ from: '2024-07-18', input: 0.15, output: 0.15 }],
    },
    {
      id: 'mistral/mistral-embed',
      provider: 'mistral',
      model: 'mistral-embed',
      kind: 'embedding',
      source,
      prices: [{ from: '2023-12-11', input: 0.1, output: 0 }],
    },
  ],
};
