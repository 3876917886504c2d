// The Alerts view of two replicas on one PostgreSQL, as an operator behind a round-robin balancer sees it (QA31).
// A silence made through one replica did not mute the alerts the other listed: a replica that does not evaluate
// read the silences only when GET /api/alerts/silences was asked, so its GET /api/alerts (and the firing table) said
// `silenced_by: []` for an alert the list beside it said was silenced, until then; and the follower's Alerts page said
// 'rules evaluated not yet' and every rule 'unknown' beside the alerts firing, flipping with each refresh. The built
// apps (dist/, `npm run build` first), each on the shared database as `serve` starts it, the simulator upstream.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import type * as SimTs from '../../src/simulator/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { dashboardBuilt, loadBuilt, startBuiltApp } from './built-app.js';

const CHROMIUM = '/usr/bin/chromium';

interface Firing {
  labels: Record<string, string>;
  silenced_by: string[];
}
interface AlertsJson {
  evaluator: boolean;
  firing: Firing[];
}

describe.skipIf(!existsSync(CHROMIUM) || !dashboardBuilt)('the Alerts view of two replicas on PostgreSQL', () => {
  let pg: TestPostgres;
  let sim: SimTs.Simulator;
  const apps: ServerTs.App[] = [];
  let leader = '';
  let follower = '';
  let browser: Browser;

  const alertsOf = async (base: string): Promise<AlertsJson> =>
    (await (await fetch(`${base}/api/alerts`)).json()) as AlertsJson;
  const silencedBy = (a: AlertsJson, model: string) => a.firing.find((f) => f.labels['model'] === model)?.silenced_by;

  beforeAll(async () => {
    pg = await startPostgres();
    const { startSimulator } = await loadBuilt<typeof SimTs>('simulator/index.js');
    sim = await startSimulator({ port: 0, seed: 31, ttftMs: 1, tpotMs: 1, outputTokens: 4 });
    const url = await pg.freshDatabaseUrl();
    const config = {
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '1s' },
      providers: [{ name: 'openai', baseUrl: sim.url }],
      storage: { url, flushInterval: '0ms' },
      telemetry: { logLevel: 'silent' },
      gpu: { collector: 'none' },
      alerts: {
        evaluationInterval: '1s',
        defaultRules: false,
        slos: [],
        rules: [
          {
            name: 'ErrorsHigh',
            kind: 'error_rate',
            window: '5m',
            op: '>',
            threshold: 0.1,
            minSamples: 3,
            for: '0s',
            severity: 'critical',
            groupBy: ['model'],
          },
        ],
      },
    } as ConfigInput;
    // the first up takes the evaluator's lock
    for (const _ of [0, 1]) {
      const { app, base } = await startBuiltApp(config);
      apps.push(app);
      if (!leader) leader = base;
      else follower = base;
    }
    expect((await alertsOf(leader)).evaluator).toBe(true);
    expect((await alertsOf(follower)).evaluator).toBe(false);
    // failing calls through both replicas, on two models
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        fetch(`${i % 2 ? follower : leader}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-simulator-fault': 'server_error' },
          body: JSON.stringify({
            model: i % 4 < 2 ? 'gpt-4o' : 'gpt-4o-mini',
            messages: [{ role: 'user', content: 'x' }],
          }),
        }).then((r) => r.text()),
      ),
    );
    for (const app of apps) await app.ctx.recorder.flush();
    const deadline = Date.now() + 20_000;
    while ((await alertsOf(follower)).firing.length < 2) {
      if (Date.now() > deadline) throw new Error(`not firing: ${JSON.stringify(await alertsOf(leader))}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    for (const app of apps.reverse()) await app.close();
    await sim?.close();
    await pg?.stop();
  });

  it('a silence made or expired through one replica mutes, and stops muting, the alert the other lists at once', async () => {
    const made = await fetch(`${leader}/api/alerts/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ matchers: ['model="gpt-4o"'], duration: '1h', comment: 'provider incident' }),
    });
    expect(made.status).toBe(201);
    const { id } = (await made.json()) as { id: string };
    // the follower's next answer, with nothing else asked of it in between
    const seen = await alertsOf(follower);
    expect(silencedBy(seen, 'gpt-4o')).toEqual([id]);
    expect(silencedBy(seen, 'gpt-4o-mini')).toEqual([]);

    // expired through the follower: the leader's next answer no longer lists it as muting
    expect((await fetch(`${follower}/api/alerts/silences/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect(silencedBy(await alertsOf(leader), 'gpt-4o')).toEqual([]);
    expect(silencedBy(await alertsOf(follower), 'gpt-4o')).toEqual([]);
  });

  it("the follower's Alerts page says another replica evaluates, not 'not yet' and 'unknown' beside the firing alerts", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      const viewOf = async (base: string) => {
        await page.goto(`${base}/#/alerts`);
        const rules = page.locator('section.card', { has: page.getByRole('heading', { name: 'Rules' }) });
        await rules.waitFor();
        await page.locator('td', { hasText: 'gpt-4o-mini' }).first().waitFor();
        return {
          text: (await page.locator('main').textContent()) ?? '',
          health: await rules.locator('tbody td:last-child').allTextContents(),
        };
      };
      const f = await viewOf(follower);
      expect(f.text).toContain('rules evaluated by another replica');
      expect(f.text).not.toContain('rules evaluated not yet');
      expect(f.health).toEqual(['–']);
      const l = await viewOf(leader);
      expect(l.text).toMatch(/rules evaluated \S/);
      expect(l.text).not.toContain('another replica');
      expect(l.health).toEqual(['ok']);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
