// `llmscope simulate`: the simulated OpenAI-compatible upstream on its own. Flags are checked before anything
// starts (a bad value exits non-zero with its name and accepted range); SIGINT/SIGTERM stop it cleanly.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseNumber, SimulatorOptionError } from './options.js';
import type { Simulator } from './server.js';

type Kind = Parameters<typeof parseNumber>[2];

interface SimulateFlags {
  port: number;
  host: string;
  ttftMs: number;
  tpotMs: number;
  outputTokens: number;
  jitter: boolean;
  errorRate: number;
  rateLimitRate: number;
  timeoutRate: number;
  cutRate: number;
  refusalRate: number;
  seed: number;
}

/** How the command talks to the world; tests replace it. */
export interface SimulateIo {
  log(line: string): void;
  /** Resolves when the simulator should stop (default: on SIGINT or SIGTERM). */
  untilStopped(): Promise<void>;
  /** Called once the simulator is listening. */
  started?(sim: Simulator): void;
}

const processIo: SimulateIo = {
  log: (line) => process.stdout.write(`${line}\n`),
  untilStopped: () =>
    new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    }),
};

function numberOption(flags: string, description: string, kind: Kind, fallback: number): Option {
  const name = flags.split(' ')[0]!;
  return new Option(flags, description).default(fallback).argParser((value: string) => {
    try {
      return parseNumber(name, value, kind);
    } catch (err) {
      if (err instanceof SimulatorOptionError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  });
}

export function registerSimulateCommand(program: Command, io: SimulateIo = processIo): void {
  program
    .command('simulate')
    .description('run a simulated OpenAI-compatible LLM upstream (exact timing unless --jitter, faults on demand)')
    .addOption(numberOption('--port <n>', 'port to listen on', 'port', 8081))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .addOption(numberOption('--ttft-ms <ms>', 'time to first token', 'ms', 200))
    .addOption(numberOption('--tpot-ms <ms>', 'time between output tokens', 'ms', 20))
    .addOption(numberOption('--output-tokens <n>', 'tokens per answer unless max_tokens is lower', 'tokens', 64))
    .option('--jitter', 'draw delays from a seeded log-normal around the given means', false)
    .addOption(numberOption('--error-rate <r>', 'share of requests answered 500', 'rate', 0))
    .addOption(numberOption('--rate-limit-rate <r>', 'share of requests answered 429', 'rate', 0))
    .addOption(numberOption('--timeout-rate <r>', 'share of requests never answered', 'rate', 0))
    .addOption(numberOption('--cut-rate <r>', 'share of requests cut half-way', 'rate', 0))
    .addOption(numberOption('--refusal-rate <r>', 'share of requests the model refuses', 'rate', 0))
    .addOption(numberOption('--seed <n>', 'seed for text, faults and jitter', 'seed', 42))
    .action(async (flags: SimulateFlags) => {
      // startSimulator checks what the parsers cannot (the rates' sum); its message names the option.
      // Loaded here, not at the top: every `llmscope` command registers this one, and the server costs ~0.5 s to load.
      const { startSimulator } = await import('./server.js');
      const sim = await startSimulator(flags).catch((err: NodeJS.ErrnoException) => {
        const where = `${flags.host}:${flags.port}`;
        if (err.code === 'EADDRINUSE') throw new Error(`${where} is already in use; choose another port with --port`);
        // as serve says it (listenError), not node's 'getaddrinfo ENOTFOUND x' or 'listen EADDRNOTAVAIL' (QA27)
        if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND')
          throw new Error(
            `cannot listen on ${where}: ${flags.host} is not an address of this machine; use --host 127.0.0.1 or 0.0.0.0`,
          );
        if (err.code === 'EACCES')
          throw new Error(
            `not allowed to listen on ${where} (ports below 1024 need privileges); choose another --port`,
          );
        throw err;
      });
      io.log(
        `llmscope simulator listening on ${sim.url} (ttft ${flags.ttftMs} ms, tpot ${flags.tpotMs} ms, ` +
          `${flags.outputTokens} tokens${flags.jitter ? ', jitter' : ''})`,
      );
      io.started?.(sim);
      await io.untilStopped();
      await sim.close();
    });
}
