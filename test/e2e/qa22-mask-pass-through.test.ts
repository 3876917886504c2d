// privacy.maskUpstream covers what the gateway passes through unrecorded, not only its calls. docs/privacy.md says the
// provider never receives what the patterns find; but the bodies llmscope relays without recording them went as the
// client sent them: an email in a prompt reached the provider raw through Anthropic's count_tokens (which Claude Code
// sends with the whole conversation), Gemini's countTokens, OpenAI's moderations, images and speech (measured with a
// recording provider: 7 of 8 routes raw, only /v1/chat/completions masked). Now a pass-through JSON body is masked as
// a call's is, re-serialized only when something was found; a body without a match goes byte for byte. Through the
// official openai, Anthropic and Google Gen AI clients; in one process and under serve --workers 2.
import { createServer, type Server } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killServe, type ServeRun, startServeWithConfig } from './helpers.js';

const EMAIL = 'alice.qa22@example.com';
let upstream: Server;
let port = 0;
const seen: { url: string; body: string }[] = [];

beforeAll(async () => {
  // The providers: every path answered with a body each SDK accepts, what reached it remembered.
  upstream = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const url = req.url ?? '';
      seen.push({ url, body: Buffer.concat(parts).toString() });
      const json = (o: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(o));
      };
      if (url.includes('count_tokens')) return json({ input_tokens: 9 });
      if (url.includes(':countTokens')) return json({ totalTokens: 9 });
      if (url.includes('/moderations')) return json({ id: 'modr-1', model: 'omni-moderation-latest', results: [] });
      if (url.includes('/images/')) return json({ created: 1, data: [{ url: 'https://img.example/1.png' }] });
      if (url.includes('/audio/speech')) {
        res.writeHead(200, { 'content-type': 'audio/mpeg' });
        return res.end(Buffer.from([1, 2, 3]));
      }
      return json({ object: 'list', data: [] });
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = (upstream.address() as { port: number }).port;
});
afterAll(() => {
  upstream?.close();
});

for (const workers of [undefined, 2]) {
  describe(`privacy.maskUpstream on pass-through routes (${workers ? `--workers ${workers}` : 'one process'})`, () => {
    let run: ServeRun | undefined;
    beforeAll(async () => {
      run = await startServeWithConfig({
        prefix: 'qa22-mask-pass-',
        workers,
        config: (dir) => ({
          providers: [
            { name: 'openai', baseUrl: `http://127.0.0.1:${port}/v1` },
            { name: 'anthropic', type: 'anthropic', baseUrl: `http://127.0.0.1:${port}/v1` },
            { name: 'gemini', type: 'gemini', baseUrl: `http://127.0.0.1:${port}/v1beta` },
          ],
          storage: { url: `sqlite:${dir}/calls.db` },
          gpu: { collector: 'none' },
          privacy: { maskUpstream: true },
        }),
      });
    }, 90_000);
    afterAll(() => killServe(run?.proc));

    it('the provider gets the masked text, never the address', async () => {
      const base = run?.base as string;
      const before = seen.length;
      const text = `Write to ${EMAIL} about the invoice`;
      const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'sk-client', maxRetries: 0 });
      await openai.moderations.create({ model: 'omni-moderation-latest', input: text });
      await openai.images.generate({ model: 'dall-e-3', prompt: text });
      await (await openai.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: text })).arrayBuffer();
      const anthropic = new Anthropic({ baseURL: base, apiKey: 'sk-ant-client', maxRetries: 0 });
      const counted = await anthropic.messages.countTokens({
        model: 'claude-sonnet-4-5',
        system: `You answer ${EMAIL}`,
        messages: [{ role: 'user', content: text }],
      });
      expect(counted.input_tokens).toBe(9);
      const gemini = new GoogleGenAI({ apiKey: 'gemini-client-key', httpOptions: { baseUrl: base } });
      const g = await gemini.models.countTokens({ model: 'gemini-2.0-flash', contents: text });
      expect(g.totalTokens).toBe(9);

      const got = seen.slice(before);
      expect(got.map((s) => s.url.split('?')[0])).toEqual([
        '/v1/moderations',
        '/v1/images/generations',
        '/v1/audio/speech',
        '/v1/messages/count_tokens',
        '/v1beta/models/gemini-2.0-flash:countTokens',
      ]);
      for (const s of got) {
        expect(s.body, s.url).not.toContain(EMAIL);
        expect(s.body, s.url).toContain('[redacted-email]');
        // the structure the provider reads stays: JSON with the model and the rest of the text
        expect(s.body, s.url).toContain('about the invoice');
      }
      expect(JSON.parse(got[3]?.body ?? '{}')).toMatchObject({ model: 'claude-sonnet-4-5' });
    });

    it('a body without anything to mask goes as the client sent it, byte for byte', async () => {
      const base = run?.base as string;
      const before = seen.length;
      const raw = '{"model":"omni-moderation-latest",   "input":"nothing personal here"}';
      const r = await fetch(`${base}/v1/moderations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client' },
        body: raw,
      });
      expect(r.status).toBe(200);
      expect(seen.slice(before).map((s) => s.body)).toEqual([raw]);
    });
  });
}
