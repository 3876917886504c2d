// The cost module's 15-second maintenance runs each step whatever the others did (R1): reading the budgets' ratios
// failing on one PostgreSQL replica (a statement timeout on a large bucket table) skipped its prune, which is where the
// replica notes itself alive, so after a minute the other replicas released its live calls' reservations as a dead
// replica's and a block budget could be overspent.
import { describe, expect, it } from 'vitest';
import { runEach } from './module.js';

describe('cost maintenance', () => {
  it('runs every step when one fails, and says which failed', async () => {
    const ran: string[] = [];
    const failed = await runEach([
      [
        'budget ratios',
        async () => {
          ran.push('ratios');
          throw new Error('canceling statement due to statement timeout');
        },
      ],
      ['budget prune', async () => void ran.push('prune (notes this replica alive)')],
      ['spend minutes', () => void ran.push('minutes')],
    ]);
    expect(ran).toEqual(['ratios', 'prune (notes this replica alive)', 'minutes']);
    expect(failed).toEqual(['budget ratios: canceling statement due to statement timeout']);
  });
});
