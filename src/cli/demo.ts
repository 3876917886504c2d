// `llmscope demo`: serve with the simulator as upstream and a traffic generator, so the dashboard fills in seconds.
import type { Command } from 'commander';
import { startSimulator, startTraffic } from '../simulator/index.js';
import { addServeOptions, configFromFlags, runApp, type ServeFlags } from './serve.js';

export function registerDemoCommand(program: Command): void {
  addServeOptions(program.command('demo').description('serve with a simulated LLM upstream and generated traffic'))
    .option('--rps <n>', 'generated requests per second', '8')
    .action(async (flags: ServeFlags & { rps: string }) => {
      const rps = Number(flags.rps);
      if (!Number.isFinite(rps) || rps <= 0) throw new Error(`--rps must be a positive number, got "${flags.rps}"`);
      const sim = await startSimulator({ port: 0, ttftMs: 180, tpotMs: 18, jitter: true, seed: 42 });
      const config = configFromFlags({ ...flags, upstream: undefined }, (raw) => {
        raw.providers = [{ name: 'simulator', baseUrl: sim.url }];
        raw.routes = [];
        // The simulated models are priced like the real ones; the self-hosted Llama at a hosted open-model rate.
        raw.pricing ??= { models: [{ model: 'llama-3.1-8b-instruct', input: 0.05, output: 0.08 }] };
        raw.budgets ??= [
          { name: 'demo-monthly', scope: 'global', period: 'month', limit: 50, action: 'alert' },
          { name: 'per-team-daily', scope: 'team', period: 'day', limit: 5, action: 'alert' },
        ];
      });
      let traffic: { stop(): Promise<void> } | undefined;
      const app = await runApp(config, async () => {
        await traffic?.stop();
        await sim.close();
      });
      const port = (app.server.address() as { port: number }).port;
      const base = `http://${config.server.host}:${port}`;
      traffic = startTraffic({ baseUrl: `${base}/v1`, rps, seed: 7 });
      process.stderr.write(
        [
          '',
          `  llmscope demo is running (simulated upstream at ${sim.url}, ~${rps} requests/s of generated traffic)`,
          '',
          `  dashboard   ${base}/`,
          `  OpenAI API  ${base}/v1        (try: curl ${base}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}')`,
          `  metrics     ${base}/metrics`,
          `  requests    ${base}/api/requests`,
          '',
          '  Ctrl-C to stop.',
          '',
        ].join('\n'),
      );
    });
}
