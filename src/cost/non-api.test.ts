import { describe, expect, it } from 'vitest';
import { costConfigOf } from './config.js';
import { accrueNonApi, parseCostItems } from './non-api.js';

describe('non-API costs', () => {
  const { costs, pricing } = costConfigOf({
    costs: {
      gpu: [{ name: 'a100-pool', gpus: 4, pricePerGpuHour: 2, from: '2025-06-02' }],
      vectorDb: [{ name: 'pinecone', gb: 300, pricePerGbMonth: 0.33 }],
      egress: { pricePerGb: 0.09 },
      fixed: [{ name: 'langsmith-seats', monthlyUsd: 300, provider: 'langsmith' }],
    },
    pricing: { models: [{ model: 'local-llama', provider: 'vllm', gpuHours: { gpus: 1, pricePerGpuHour: 1.5 } }] },
  });

  it('accrues GPUs, storage, egress, fixed items and GPU-hour models by day', () => {
    const lines = accrueNonApi('2025-06-01', '2025-06-02', {
      costs,
      gpuPriced: pricing.models,
      bytesByDay: new Map([['2025-06-01', 2e9]]),
      items: [{ day: '2025-06-02', category: 'other', name: 'support', provider: null, amountUsd: 50, source: 'x' }],
    });
    const on = (day: string) =>
      Object.fromEntries(lines.filter((l) => l.day === day).map((l) => [l.name, l.amountUsd]));
    expect(on('2025-06-01')).toEqual({
      pinecone: (300 * 0.33) / 30,
      'langsmith-seats': 10,
      'local-llama': 36,
      egress: 0.18,
    });
    expect(on('2025-06-02')).toEqual({
      'a100-pool': 192,
      pinecone: 3.3,
      'langsmith-seats': 10,
      'local-llama': 36,
      support: 50,
    });
  });

  it('counts only the elapsed part of today', () => {
    const lines = accrueNonApi('2025-06-02', '2025-06-03', { costs, now: Date.parse('2025-06-02T06:00:00Z') });
    expect(lines.find((l) => l.name === 'a100-pool')?.amountUsd).toBeCloseTo(48, 9);
    expect(lines.some((l) => l.day === '2025-06-03')).toBe(false);
  });

  it('imports cost line items from CSV and JSON, naming the bad line', () => {
    expect(parseCostItems('date,name,amount_usd,category\n2025-06-01,Weaviate,"$1,200.00",vector_db', 'f.csv')).toEqual(
      [
        {
          day: '2025-06-01',
          name: 'Weaviate',
          category: 'vector_db',
          provider: null,
          amountUsd: 1200,
          source: 'f.csv',
        },
      ],
    );
    expect(
      parseCostItems(
        '{"items":[{"date":"2025-06-01T10:00:00Z","name":"GPU box","amount_usd":99,"provider":"lambda"}]}',
        'j',
      ),
    ).toEqual([
      { day: '2025-06-01', name: 'GPU box', category: 'other', provider: 'lambda', amountUsd: 99, source: 'j' },
    ]);
    expect(() => parseCostItems('date,name,amount_usd\n2025-06-01,x,abc', 'f.csv')).toThrow(
      'f.csv: item 1: "amount_usd" must be a number',
    );
  });
});
