// Every command that takes a config file takes it as `-c` too, as serve and check-config do (QA30: export, backup
// and alerts backtest took only --config, so `llmscope export prometheus -c llmscope.yaml` failed).
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from './program.js';

function commands(c: Command, path = 'llmscope'): [string, Command][] {
  return c.commands.flatMap((sub) => {
    const name = `${path} ${sub.name()}`;
    return [[name, sub] as [string, Command], ...commands(sub, name)];
  });
}

describe('the llmscope program', () => {
  it('takes the config file as -c wherever it takes --config', () => {
    const withConfig = commands(buildProgram()).flatMap(([name, c]) => {
      const opt = c.options.find((o) => o.long === '--config');
      return opt ? [[name, opt.short ?? null]] : [];
    });
    expect(withConfig.map(([name]) => name)).toEqual(
      expect.arrayContaining(['llmscope serve', 'llmscope export', 'llmscope backup', 'llmscope alerts backtest']),
    );
    for (const [name, short] of withConfig) expect({ name, short }).toEqual({ name, short: '-c' });
  });
});
