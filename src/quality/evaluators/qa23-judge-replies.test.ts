// QA23: a judge's verdict said among prose ("Here is my verdict: {...}", a reasoning model's <think> before it, a
// ```json fence after a sentence) or with the verdict word in capitals was "not a single JSON object" or an invalid
// option: each cost a retry (another paid judge call) and, when the judge kept its habit, the evaluation ended as
// `error`. Now the one object in the reply is read; several objects, or a score off the 0..1 scale, still are not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmCall } from '../../calls/index.js';
import { type Simulator, startSimulator } from '../../simulator/index.js';
import { ChatClient } from '../chat-client.js';
import { LlmJudgeEvaluator, parseJudgeReply } from './judge.js';

const V =
  '{"verdict": "fail", "score": 0.2, "reason": "The context says 30 s, not 60 s.", "unsupported_claims": ["60 s"]}';

describe('judge replies in the forms judges give (QA23)', () => {
  it('reads the one verdict object among prose, in a fence after prose, or after <think>', () => {
    for (const reply of [
      `Here is my verdict:\n${V}`,
      `${V}\n\nThe answer contradicts the context.`,
      `Verdict:\n\`\`\`json\n${V}\n\`\`\`\nHope this helps.`,
      `<think>The context says 30 {seconds}; the answer says 60.</think>\n${V}`,
      V.replace('"fail"', '"FAIL"'),
      V.replace('0.2', '"0.2"'),
      V.replace('["60 s"]', 'null'),
    ]) {
      const r = parseJudgeReply(reply);
      expect(r, reply).toMatchObject({ ok: true, value: { verdict: 'fail', score: 0.2 } });
    }
  });

  it('still refuses two verdicts, a score off the 0..1 scale, and a verdict word it did not ask for', () => {
    for (const reply of [
      `${V}\n${V.replace('"fail"', '"pass"')}`,
      V.replace('0.2', '2'),
      V.replace('0.2', '20'),
      V.replace('"fail"', '"échec"'),
      'The answer is mostly fine.',
    ]) {
      expect(parseJudgeReply(reply).ok, reply).toBe(false);
    }
  });

  describe('through a judge model (the simulator)', () => {
    let sim: Simulator;
    beforeAll(async () => {
      sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0 });
    });
    afterAll(() => sim.close());

    it('takes a verdict wrapped in prose at the first call, without a retry', async () => {
      const calls: LlmCall[] = [];
      const judge = new LlmJudgeEvaluator({
        client: new ChatClient({
          provider: 'simulator',
          baseUrl: sim.url,
          headers: { 'x-simulator-reply': `Sure. After checking the context, my verdict is: ${V} I hope this helps.` },
          onCall: (c) => calls.push(c),
        }),
        model: 'judge-model',
        maxRetries: 2,
      });
      const r = await judge.evaluate({
        context: ['fetch() times out after 30 seconds by default.'],
        response: 'fetch() times out after 60 seconds by default.',
      });
      expect(r).toMatchObject({ verdict: 'fail', score: 0.8 });
      expect(calls).toHaveLength(1);
    });
  });
});
