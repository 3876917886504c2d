// LLM-as-judge: a judge model (any OpenAI-compatible endpoint) grades the answer against the context with a rubric
// and must reply with one strict JSON object. A malformed reply is retried (with the parse error fed back); when
// retries run out the evaluation is recorded as `error` — never thrown. The judge's own calls are recorded by the
// ChatClient under the feature `llmscope-eval`, so their cost shows up like any other call's.
import { z } from 'zod';
import type { ChatClient, ChatMessage } from '../chat-client.js';
import type { ClaimResult, EvaluationInput, EvaluationResult, Evaluator } from './types.js';
import { errorResult } from './types.js';

export const JUDGE_RUBRIC = `You are a strict fact-checking judge. Decide whether the ANSWER is fully supported by the CONTEXT
(and, where the context is silent, by well-established facts). Hallucination means: a claim the context contradicts,
a claim with no support, an invented source, number, date, name or quotation.
Reply with ONE JSON object and nothing else, exactly of this shape:
{"verdict": "pass" | "fail", "score": <number 0..1, 1 = fully faithful, 0 = entirely hallucinated>,
 "reason": "<one or two sentences>", "unsupported_claims": ["<claim>", ...]}
"pass" means no hallucination. Do not wrap the JSON in prose.`;

const verdictSchema = z.object({
  // "PASS", " Fail ": the word asked for, in another case.
  verdict: z.preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(['pass', 'fail'])),
  // "0.8": the number asked for, written as a string. A number outside 0..1 (a 1-10 or percent scale) is no guess.
  score: z.preprocess(
    (v) => (typeof v === 'string' && /^\s*-?\d+(?:\.\d+)?\s*$/.test(v) ? Number(v) : v),
    z.number().min(0).max(1),
  ),
  reason: z.preprocess((v) => v ?? undefined, z.string().max(4000).default('')),
  unsupported_claims: z.preprocess((v) => v ?? undefined, z.array(z.string().max(2000)).max(50).default([])),
});

export type JudgeVerdict = z.infer<typeof verdictSchema>;

/**
 * The text with each <think>…</think> (any case) replaced by a space, as text.replace(/<think>[\s\S]*?<\/think>/gi,
 * ' ') does, in linear time: once a <think> has no </think> after it, none later has. As that pattern, each unclosed
 * <think> read the rest of the reply (a reply of 100,000 characters of '<think>': 0.8 s).
 */
export function withoutThinking(text: string): string {
  const open = /<think>/gi;
  const close = /<\/think>/gi;
  let out = '';
  let at = 0;
  for (let o = open.exec(text); o !== null; o = open.exec(text)) {
    close.lastIndex = o.index + o[0].length;
    const c = close.exec(text);
    if (c === null) break;
    out += `${text.slice(at, o.index)} `;
    at = close.lastIndex;
    open.lastIndex = at;
  }
  return at === 0 ? text : out + text.slice(at);
}

/**
 * The one JSON object a reply holds: the reply itself, or fenced in ```json, or said among prose ("Here is my
 * verdict: {...}", a reasoning model's <think>…</think> before it). More than one object is ambiguous: null.
 */
function replyObject(text: string): string | null {
  const t = withoutThinking(text).trim();
  if (t.startsWith('{') && t.endsWith('}')) return t;
  const fences = [...t.matchAll(/```[a-z]*[ \t]*\n?([\s\S]*?)```/gi)].map((m) => (m[1] as string).trim());
  const inFences = fences.filter((f) => f.startsWith('{') && f.endsWith('}'));
  if (inFences.length > 0) return inFences.length === 1 ? (inFences[0] as string) : null;
  // Balanced top-level braces outside strings.
  const objects: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"' && depth > 0) inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && depth > 0 && --depth === 0) objects.push(t.slice(start, i + 1));
  }
  return objects.length === 1 ? (objects[0] as string) : null;
}

/**
 * Parses a judge reply: its one JSON object (alone, fenced in ```json, or among prose); none, several, or one that
 * breaks the rubric's shape is an error with a reason (fed back to the judge on the retry).
 */
export function parseJudgeReply(text: string): { ok: true; value: JudgeVerdict } | { ok: false; error: string } {
  const t = replyObject(text);
  if (t === null) return { ok: false, error: 'the reply is not a single JSON object' };
  let raw: unknown;
  try {
    raw = JSON.parse(t);
  } catch (err) {
    return { ok: false, error: `invalid JSON: ${(err as Error).message}` };
  }
  const r = verdictSchema.safeParse(raw);
  if (!r.success)
    return { ok: false, error: r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  return { ok: true, value: r.data };
}

export interface JudgeOptions {
  client: ChatClient;
  model: string;
  maxRetries?: number;
  temperature?: number;
  /** Longest context sent to the judge (characters); the rest is cut, and the judge is told so. */
  maxContextChars?: number;
}

export class LlmJudgeEvaluator implements Evaluator {
  readonly name = 'judge';

  constructor(private readonly opts: JudgeOptions) {}

  async evaluate(input: EvaluationInput): Promise<EvaluationResult> {
    const t0 = performance.now();
    const max = this.opts.maxContextChars ?? 24_000;
    let context = input.context.join('\n\n');
    if (context.length > max) context = `${context.slice(0, max)}\n[... context cut at ${max} characters ...]`;
    const messages: ChatMessage[] = [
      { role: 'system', content: JUDGE_RUBRIC },
      {
        role: 'user',
        content: `CONTEXT:\n${context || '(none)'}\n\n${input.question ? `QUESTION:\n${input.question}\n\n` : ''}ANSWER:\n${input.response}`,
      },
    ];
    const attempts = 1 + (this.opts.maxRetries ?? 2);
    let lastError = '';
    for (let i = 0; i < attempts; i++) {
      let reply: string;
      try {
        reply = (
          await this.opts.client.chat({ model: this.opts.model, messages, temperature: this.opts.temperature ?? 0 })
        ).text;
      } catch (err) {
        return errorResult(this.name, `judge call failed: ${(err as Error).message}`, performance.now() - t0);
      }
      const parsed = parseJudgeReply(reply);
      if (parsed.ok) {
        const v = parsed.value;
        const claims: ClaimResult[] = v.unsupported_claims.map((c) => ({
          text: c,
          status: 'unsupported',
          score: 1,
          evidence: [{ source: 'judge', text: v.reason }],
        }));
        return {
          evaluator: this.name,
          verdict: v.verdict,
          score: Math.round((1 - v.score) * 1000) / 1000,
          evidence: [
            {
              source: 'judge',
              text: v.reason,
              note: `judge ${this.opts.model}${i > 0 ? `, after ${i} retr${i > 1 ? 'ies' : 'y'}` : ''}`,
            },
          ],
          claims,
          explanation: v.reason || `judge says ${v.verdict}`,
          durationMs: performance.now() - t0,
        };
      }
      lastError = parsed.error;
      messages.push(
        { role: 'assistant', content: reply.slice(0, 2000) },
        {
          role: 'user',
          content: `That reply could not be used (${parsed.error}). Reply with only the JSON object described above.`,
        },
      );
    }
    return errorResult(
      this.name,
      `malformed judge verdict after ${attempts} attempt(s): ${lastError}`,
      performance.now() - t0,
    );
  }
}
