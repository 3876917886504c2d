import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerSimulateCommand } from './cli.js';
import type { Simulator } from './server.js';

function program(io: Parameters<typeof registerSimulateCommand>[1]) {
  const errors: string[] = [];
  const p = new Command('llmscope').exitOverride().configureOutput({
    writeErr: (s) => errors.push(s),
    writeOut: () => {},
  });
  registerSimulateCommand(p, io);
  return { p, errors };
}

const argv = (...args: string[]) => ['node', 'llmscope', 'simulate', ...args];

describe('llmscope simulate', () => {
  it('starts with the given flags, prints its URL, and stops when told', async () => {
    const lines: string[] = [];
    let stop!: () => void;
    let sim!: Simulator;
    const { p } = program({
      log: (l) => lines.push(l),
      untilStopped: () => new Promise<void>((r) => (stop = r)),
      started: (s) => (sim = s),
    });
    const done = p.parseAsync(
      argv('--port', '0', '--ttft-ms', '5', '--tpot-ms', '1', '--output-tokens', '3', '--seed', '9'),
    );
    await expect.poll(() => lines.length).toBe(1);
    expect(lines[0]).toMatch(
      /^llmscope simulator listening on http:\/\/127\.0\.0\.1:\d+\/v1 \(ttft 5 ms, tpot 1 ms, 3 tokens\)$/,
    );
    expect(sim.options).toMatchObject({ ttftMs: 5, tpotMs: 1, outputTokens: 3, seed: 9, jitter: false, errorRate: 0 });
    const res = await fetch(`${sim.url}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect((await res.json()).usage.completion_tokens).toBe(3);
    stop();
    await done;
    await expect(fetch(`${sim.url}/models`)).rejects.toThrow();
  });

  it('uses the documented defaults', async () => {
    let stop!: () => void;
    let sim!: Simulator;
    const { p } = program({
      log: () => {},
      untilStopped: () => new Promise<void>((r) => (stop = r)),
      started: (s) => (sim = s),
    });
    const done = p.parseAsync(argv('--port', '0'));
    await expect.poll(() => sim).toBeDefined();
    expect(sim.options).toMatchObject({ host: '127.0.0.1', ttftMs: 200, tpotMs: 20, outputTokens: 64, seed: 42 });
    stop();
    await done;
  });

  it.each([
    [['--ttft-ms', 'soon'], /--ttft-ms must be a number of milliseconds/],
    [['--error-rate', '5'], /--error-rate must be a share from 0 to 1/],
    [['--port', '-1'], /--port must be an integer from 0 to 65535/],
    [['--output-tokens', '1.5'], /--output-tokens must be an integer/],
  ])('rejects %j with a clear message and exit code 1', async (args, message) => {
    const { p, errors } = program({ log: () => {}, untilStopped: async () => {} });
    const err = await p.parseAsync(argv(...args)).catch((e) => e);
    expect(err).toBeInstanceOf(CommanderError);
    expect(err.exitCode).toBe(1);
    expect(errors.join('')).toMatch(message);
  });

  it('says so when the port is taken', async () => {
    let stop!: () => void;
    let sim!: Simulator;
    const first = program({
      log: () => {},
      untilStopped: () => new Promise<void>((r) => (stop = r)),
      started: (s) => (sim = s),
    });
    const done = first.p.parseAsync(argv('--port', '0'));
    await expect.poll(() => sim).toBeDefined();
    const { p } = program({ log: () => {}, untilStopped: async () => {} });
    await expect(p.parseAsync(argv('--port', String(sim.port)))).rejects.toThrow(
      `127.0.0.1:${sim.port} is already in use; choose another port with --port`,
    );
    stop();
    await done;
  });

  it('rejects fault rates adding up to more than 1', async () => {
    const { p } = program({ log: () => {}, untilStopped: async () => {} });
    await expect(p.parseAsync(argv('--port', '0', '--error-rate', '0.7', '--cut-rate', '0.7'))).rejects.toThrow(
      /fault rates add up to 1.4/,
    );
  });
});
