// DeepSeek's API prices (USD per 1M tokens); `cachedInput` is their "cache hit" input price. Both names moved to
// V3.1 on 2025-09-05 and to V3.2-Exp (about half the price) on 2025-09-29. The off-peak discounts DeepSeek offered
// until 2025-09-05 are not modelled.
import type { CatalogFile } from './types.js';

const source = 'https://api-docs.deepseek.com/quick_start/pricing';

export const deepseekCatalog: CatalogFile = {
  provider: 'deepseek',
  checked: '2025-11-20',
  entries: [
    {
      id: 'deepseek/deepseek-chat',
      provider: 'deepseek',
      model: 'deepseek-chat',
      source,
      prices: [
        { from: '2025-02-09', input: 0.27, cachedInput: 0.07, output: 1.1 },
        { from: '2025-09-05', input: 0.56, cachedInput: 0.07, output: 1.68 },
        { from: '2025-09-29', input: 0.28, cachedInput: 0.028, output: 0.42 },
      ],
    },
    {
      id: 'deepseek/deepseek-reasoner',
      provider: 'deepseek',
      model: 'deepseek-reasoner',
      source,
      prices: [
        { from: '2025-01-20', input: 0.55, cachedInput: 0.14, output: 2.19 },
        { from: '2025-09-05', input: 0.56, cachedInput: 0.07, output: 1.68 },
        { from: '2025-09-29', input: 0.28, cachedInput: 0.028, output: 0.42 },
      ],
    },
  ],
};
