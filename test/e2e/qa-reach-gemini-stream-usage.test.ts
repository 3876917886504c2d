// Gemini streams usageMetadata on every chunk, but only the last one has candidatesTokenCount: the ones before carry
// promptTokenCount and totalTokenCount alone (thoughtsTokenCount while it thinks). A stream the client cancelled
// part-way was recorded with 0 output tokens "from usage", the text it had streamed unpriced. An upstream here
// streams as Google does (the simulator reports the running count on every chunk).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTokens } from '../../src/simulator/text.js';
import { type Stack, startStack, until } from './helpers.js';

const MODEL = 'gemini-2.5-flash';
const WORDS = ['The', ' river', ' runs', ' north', ' past', ' the', ' old', ' mill', '.'];
const PROMPT = 12;

const chunk = (text: string, usage: Record<string, number>, finish?: string) =>
  `data: ${JSON.stringify({
    candidates: [
      { content: { parts: [{ text }], role: 'model' }, ...(finish ? { finishReason: finish } : {}), index: 0 },
    ],
    usageMetadata: usage,
    modelVersion: MODEL,
  })}\r\n\r\n`;

describe('reach: a Gemini stream whose chunks carry usage without the candidates count', () => {
  let s: Stack;
  let up: Server;

  beforeAll(async () => {
    up = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const complete = req.headers['x-test-complete'] === '1';
        const words = complete ? WORDS : WORDS.slice(0, 5);
        for (const w of words) res.write(chunk(w, { promptTokenCount: PROMPT, totalTokenCount: PROMPT }));
        if (complete) {
          const out = countTokens(WORDS.join(''));
          res.end(
            chunk('', { promptTokenCount: PROMPT, candidatesTokenCount: out, totalTokenCount: PROMPT + out }, 'STOP'),
          );
        }
        // else: the model is still generating when the client leaves
      });
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(up.address() as AddressInfo).port}/v1beta`;
    s = await startStack({
      config: () => ({ providers: [{ name: 'gemini-up', type: 'gemini', baseUrl: url, models: ['gemini-*'] }] }),
    });
  });
  afterAll(async () => {
    await s.close();
    up.closeAllConnections();
    up.close();
  });

  const client = (headers: Record<string, string>) =>
    new GoogleGenAI({ apiKey: 'AIza-not-real', httpOptions: { baseUrl: s.base, headers } });

  it('a stream cancelled part-way counts the text it streamed as output, the prompt from usage', async () => {
    const ac = new AbortController();
    const stream = await client({ 'x-request-id': 'gsu-cut' }).models.generateContentStream({
      model: MODEL,
      contents: 'Where does the river run?',
      config: { abortSignal: ac.signal },
    });
    let text = '';
    try {
      for await (const c of stream) {
        text += c.text ?? '';
        if (text === WORDS.slice(0, 5).join('')) ac.abort();
      }
    } catch {
      // aborted
    }
    expect(text).toBe(WORDS.slice(0, 5).join(''));
    const call = await s.callOf('gsu-cut');
    expect(call.status).toBe('cancelled');
    expect(call.inputTokens).toBe(PROMPT);
    expect(call.outputTokens).toBe(countTokens(text));
    expect(call.outputTokens).toBeGreaterThan(0);
  });

  it('a stream that ends takes the last chunk’s candidatesTokenCount', async () => {
    const stream = await client({ 'x-request-id': 'gsu-done', 'x-test-complete': '1' }).models.generateContentStream({
      model: MODEL,
      contents: 'Where does the river run?',
    });
    for await (const _ of stream) {
      // read it all
    }
    const call = await until(() => s.calls.find((c) => c.requestId === 'gsu-done'));
    expect(call).toMatchObject({
      status: 'ok',
      inputTokens: PROMPT,
      outputTokens: countTokens(WORDS.join('')),
      tokenSource: 'usage',
      finishReason: 'STOP',
    });
  });
});
