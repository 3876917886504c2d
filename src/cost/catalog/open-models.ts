// Open-weight models on hosted APIs (Groq, Together AI, Fireworks AI), under each host's own model names, in USD
// per 1M tokens. The same weights cost differently per host, so an entry names its host; self-hosted copies are
// priced in config (`pricing.models`, per token or by GPU-hours).
import type { CatalogFile } from './types.js';

const groq = 'https://groq.com/pricing';
const together = 'https://www.together.ai/pricing';
const fireworks = 'https://fireworks.ai/pricing';

export const openModelsCatalog: CatalogFile = {
  provider: 'open-models',
  checked: '2025-11-20',
  entries: [
    {
      id: 'groq/llama-3.3-70b-versatile',
      provider: 'groq',
      model: 'llama-3.3-70b-versatile',
      source: groq,
      prices: [{ from: '2024-12-06', input: 0.59, output: 0.79 }],
    },
    {
      id: 'groq/llama-3.1-8b-instant',
      provider: 'groq',
      model: 'llama-3.1-8b-instant',
      source: groq,
      prices: [{ from: '2024-07-23', input: 0.05, output: 0.08 }],
    },
    {
      id: 'groq/llama-4-scout-17b-16e-instruct',
      provider: 'groq',
      model: 'meta-llama/llama-4-scout-17b-16e-instruct',
      source: groq,
      prices: [{ from: '2025-04-05', input: 0.11, output: 0.34 }],
    },
    {
      id: 'groq/llama-4-maverick-17b-128e-instruct',
      provider: 'groq',
      model: 'meta-llama/llama-4-maverick-17b-128e-instruct',
      source: groq,
      prices: [{ from: '2025-04-05', input: 0.2, output: 0.6 }],
    },
    {
      id: 'groq/qwen3-32b',
      provider: 'groq',
      model: 'qwen/qwen3-32b',
      source: groq,
      prices: [{ from: '2025-05-01', input: 0.29, output: 0.59 }],
    },
    {
      id: 'together/llama-3.3-70b-instruct-turbo',
      provider: 'together',
      model: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
      source: together,
      prices: [{ from: '2024-12-06', input: 0.88, output: 0.88 }],
    },
    {
      id: 'together/llama-3.1-8b-instruct-turbo',
      provider: 'together',
      model: 'meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo',
      source: together,
      prices: [{ from: '2024-07-23', input: 0.18, output: 0.18 }],
    },
    {
      id: 'together/llama-3.1-70b-instruct-turbo',
      provider: 'together',
      model: 'meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo',
      source: together,
      prices: [{ from: '2024-07-23', input: 0.88, output: 0.88 }],
    },
    {
      id: 'together/llama-3.1-405b-instruct-turbo',
      provider: 'together',
      model: 'meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo',
      source: together,
      prices: [{ from: '2024-07-23', input: 3.5, output: 3.5 }],
    },
    {
      id: 'together/qwen2.5-72b-instruct-turbo',
      provider: 'together',
      model: 'Qwen/Qwen2.5-72B-Instruct-Turbo',
      source: together,
      prices: [{ from: '2024-09-19', input: 1.2, output: 1.2 }],
    },
    {
      id: 'together/deepseek-v3',
      provider: 'together',
      model: 'deepseek-ai/DeepSeek-V3',
      source: together,
      prices: [{ from: '2024-12-26', input: 1.25, output: 1.25 }],
    },
    {
      id: 'together/deepseek-r1',
      provider: 'together',
      model: 'deepseek-ai/DeepSeek-R1',
      source: together,
      prices: [{ from: '2025-01-20', input: 3, output: 7 }],
    },
    {
      id: 'together/mixtral-8x7b-instruct',
      provider: 'together',
      model: 'mistralai/Mixtral-8x7B-Instruct-v0.1',
      source: together,
      prices: [{ from: '2023-12-11', input: 0.6, output: 0.6 }],
    },
    {
      id: 'fireworks/llama-v3p3-70b-instruct',
      provider: 'fireworks',
      model: 'accounts/fireworks/models/llama-v3p3-70b-instruct',
      source: fireworks,
      prices: [{ from: '2024-12-06', input: 0.9, output: 0.9 }],
    },
    {
      id: 'fireworks/llama-v3p1-8b-instruct',
      provider: 'fireworks',
      model: 'accounts/fireworks/models/llama-v3p1-8b-instruct',
      source: fireworks,
      prices: [{ from: '2024-07-23', input: 0.2, output: 0.2 }],
    },
    {
      id: 'fireworks/llama-v3p1-405b-instruct',
      provider: 'fireworks',
      model: 'accounts/fireworks/models/llama-v3p1-405b-instruct',
      source: fireworks,
      prices: [{ from: '2024-07-23', input: 3, output: 3 }],
    },
    {
      id: 'fireworks/deepseek-v3',
      provider: 'fireworks',
      model: 'accounts/fireworks/models/deepseek-v3',
      source: fireworks,
      prices: [{ from: '2024-12-26', input: 0.9, output: 0.9 }],
    },
  ],
};
