// A Realtime response refused its admission once the provider had started it (QA39). Each later response of a session
// is admitted when the provider says it is created (response.created), so a refusal (a key's rpm reached, a key
// revoked, a budget spent meanwhile) comes after the provider began spending on it. Such a response was recorded as
// `upstream_error` `upstream_stream_cut` (llmscope's own close blamed on the provider) and its cost never reached the
// budgets, so a team's budget read less than its calls' cost. And a session whose URL names no model (a transcription
// session, where OpenAI forbids `?model=`) was never checked against its key's models: a key given only gpt-4o-mini
// transcribed with gpt-4o-transcribe.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createCostModule } from '../../src/cost/index.js';
import { getJson, jsonCall, type Stack, startStack, until } from './helpers.js';

type Ev = Record<string, unknown> & { type: string };

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    // 400 output tokens 1 ms apart: a response still runs when a refusal of it arrives
    sim: { ttftMs: 2, tpotMs: 1, outputTokens: 400 },
    config: {
      gpu: { collector: 'none' },
      pricing: { models: [{ model: 'gpt-realtime', input: 4, cachedInput: 0.4, output: 16 }] },
      budgets: [{ name: 'voice', scope: 'team', match: 'voice', period: 'day', limit: 1, action: 'block' }],
    },
    app: { modules: [createCostModule] },
  });
});
afterAll(async () => {
  await stack?.close();
});

async function session(path: string, key: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(`${stack.base.replace(/^http/, 'ws')}${path}`, {
    headers: { authorization: `Bearer ${key}`, ...headers },
  });
  const events: Ev[] = [];
  ws.on('message', (d) => events.push(JSON.parse(String(d)) as Ev));
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  await new Promise((ok, no) => {
    ws.once('open', ok);
    ws.once('error', no);
  });
  return { ws, events, closed };
}

describe('Realtime: a response refused once the provider started it', () => {
  it('is recorded as the refusal with the tokens it used, and its cost counts in the budgets', async () => {
    const made = await jsonCall(stack.base, 'POST', '/api/keys', { name: 'voice', team: 'voice', rpm: 1 });
    const s = await session('/v1/realtime?model=gpt-realtime', made.body.key as string);
    s.ws.send(JSON.stringify({ type: 'response.create' }));
    await until(() => s.events.find((e) => e.type === 'response.done'));
    // the key's one request a minute is spent: the provider starts this one, llmscope refuses it and ends the session
    s.ws.send(JSON.stringify({ type: 'response.create' }));
    expect(await s.closed).toBe(1008);
    expect(s.events.find((e) => e.type === 'error')?.error).toMatchObject({ code: 'rate_limit_exceeded' });
    const calls = await until(() => {
      const mine = stack.calls.filter((c) => c.team === 'voice');
      return mine.length === 2 && mine.every((c) => c.costUsd !== null) ? mine : null;
    });
    expect(calls[0]).toMatchObject({ status: 'ok', httpStatus: 200, outputTokens: 400 });
    // before: upstream_error, 502, upstream_stream_cut
    expect(calls[1]).toMatchObject({ status: 'rate_limited', httpStatus: 429, errorType: 'rate_limit_exceeded' });
    expect(calls[1]?.outputTokens).toBeGreaterThan(0);
    expect(calls[1]?.costUsd).toBeGreaterThan(0);
    // the budget's spend is what its calls cost (before: the first call's alone)
    await stack.app.ctx.recorder.flush();
    const sum = (calls[0]?.costUsd as number) + (calls[1]?.costUsd as number);
    const budgets = await getJson<{ budgets: { name: string; buckets: { spent_usd: number }[] }[] }>(
      `${stack.base}/api/cost/budgets`,
    );
    const spent = budgets.budgets.find((b) => b.name === 'voice')?.buckets[0]?.spent_usd as number;
    expect(Math.abs(spent - sum)).toBeLessThan(1e-9);
  });

  it("admits a session's transcriptions for their model when its URL names none: a key's models apply", async () => {
    const chat = await jsonCall(stack.base, 'POST', '/api/keys', {
      name: 'chat',
      team: 'chat',
      models: ['gpt-4o-mini'],
    });
    const ears = await jsonCall(stack.base, 'POST', '/api/keys', {
      name: 'ears',
      team: 'ears',
      models: ['gpt-4o-mini-transcribe'],
    });
    const transcribe = async (key: string, model: string, n: number) => {
      const s = await session('/v1/realtime?intent=transcription', key, { 'openai-beta': 'realtime=v1' });
      s.ws.send(
        JSON.stringify({ type: 'transcription_session.update', session: { input_audio_transcription: { model } } }),
      );
      for (let k = 0; k < n; k++) {
        s.ws.send(
          JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(24_000).toString('base64') }),
        );
        s.ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
      }
      await until(
        () =>
          s.events.filter((e) => e.type === 'conversation.item.input_audio_transcription.completed').length === n ||
          s.events.some((e) => e.type === 'error'),
      );
      s.ws.close();
      return { code: await s.closed, error: s.events.find((e) => e.type === 'error')?.error };
    };
    // a key given only gpt-4o-mini: its transcription with gpt-4o-transcribe is refused (before: recorded ok)
    const refused = await transcribe(chat.body.key as string, 'gpt-4o-transcribe', 1);
    expect(refused.code).toBe(1008);
    expect(refused.error).toMatchObject({ code: 'model_not_allowed', type: 'permission_error' });
    const denied = await until(() => stack.calls.find((c) => c.team === 'chat'));
    expect(denied).toMatchObject({
      model: 'gpt-4o-transcribe',
      status: 'client_error',
      httpStatus: 403,
      errorType: 'model_not_allowed',
    });
    // a key given the transcription model: both of its transcriptions pass and are the key's
    expect((await transcribe(ears.body.key as string, 'gpt-4o-mini-transcribe', 2)).error).toBeUndefined();
    const heard = await until(() => {
      const mine = stack.calls.filter((c) => c.team === 'ears');
      return mine.length === 2 ? mine : null;
    });
    for (const c of heard)
      expect(c).toMatchObject({ model: 'gpt-4o-mini-transcribe', status: 'ok', apiKeyId: ears.body.id });
  });
});
