// The production traffic style (the demo's): requests that look like a real LLM product's. Most chats are RAG — the
// prompt carries help-centre passages (corpus.ts) and the answer is made of their sentences, cited as [n] — so the
// quality checks have evidence and pass; a configured share of answers is hallucinated (a changed number, an invented
// place or name); a few are refusals or tool calls; small talk and code review carry no knowledge. Answers reach the
// simulator as `x-simulator-reply`, timing as `x-simulator-ttft-ms`/`-tpot-ms` per model (small models faster), so
// the simulator itself stays exact. The conditions of the moment (scenario.ts) slow or fail one provider's models
// and add one user's expensive calls.
import { CODE_REVIEWS, INVENTED_NAMES, PASSAGES, type Passage, PRODUCT, SMALL_TALK, TOOLS } from './corpus.js';
import type { TrafficConditions } from './scenario.js';
import { pick, type Rng, randInt } from './text.js';

/** What an answer is, so feedback can follow it as users would. */
export type AnswerKind = 'grounded' | 'hallucinated' | 'refusal' | 'tool_call' | 'no_knowledge' | 'embedding' | 'load';

export interface Planned {
  path: string;
  headers: Record<string, string>;
  body: string;
  stream: boolean;
  /** Abort after this many received chunks (an impatient user), or null. */
  cancelAfterChunks: number | null;
  kind: AnswerKind;
}

/**
 * Per-model latency (ms) in healthy times: p95 TTFT stays under 0.5 s and p95 latency under 2 s, as the default alert
 * rules expect of a healthy service, with the simulator's jitter (log-normal: p95 TTFT ≈ 1.7 × the mean; a 230 ms
 * mean measured 440 ms at p95 through the gateway on a loaded machine, too close to 500 ms, hence 200 ms).
 */
export const PRODUCTION_PROFILES: Record<string, { ttft: number; tpot: number }> = {
  'gpt-4o-mini': { ttft: 160, tpot: 9 },
  'gpt-4o': { ttft: 200, tpot: 14 },
  'claude-sonnet-4': { ttft: 200, tpot: 15 },
  'llama-3.1-8b-instruct': { ttft: 80, tpot: 6 },
  'o1-pro': { ttft: 2500, tpot: 6 },
};

/** Default model mix of the production style: [model, share]. */
export const PRODUCTION_MODELS: readonly (readonly [string, number])[] = [
  ['gpt-4o-mini', 0.42],
  ['llama-3.1-8b-instruct', 0.23],
  ['gpt-4o', 0.2],
  ['claude-sonnet-4', 0.15],
];

const TEAMS = ['search', 'support', 'growth', 'platform', 'research'];
const USERS = 50;

/** Features and their shares; `rag` features carry passages. */
const FEATURE_MIX: readonly (readonly [string, number])[] = [
  ['support-bot', 0.36],
  ['search-answer', 0.24],
  ['summarize', 0.1],
  ['extract', 0.08],
  ['chat-assistant', 0.1],
  ['code-review', 0.07],
  ['embeddings', 0.05],
];

/**
 * Faults of healthy times (a real provider's background noise, 0.08%): well under the 1% error-rate rule and the
 * availability SLO's 0.5% budget, which the incidents also spend from.
 */
const BACKGROUND_FAULTS: readonly (readonly [string, number])[] = [
  ['rate_limit', 0.0004],
  ['server_error', 0.0003],
  ['cut', 0.0001],
];
const REFUSAL_SHARE = 0.01;
/** Support questions that start with the user's e-mail address, as people write them (captured content redacts it). */
const CONTACT_SHARE = 0.15;
const TOOL_SHARE = 0.1;
const CANCEL_SHARE = 0.01;

export interface ProductionOptions {
  /** Share of grounded answers turned into hallucinations (0 to 1). */
  hallucinationRate: number;
  /** [model, share] mix; defaults to PRODUCTION_MODELS. */
  models: readonly (readonly [string, number])[];
  embeddingModel: string;
  apiKey?: string;
  /** Add the background faults of healthy times (default true). */
  backgroundErrors?: boolean;
}

function weighted<T>(rng: Rng, items: readonly (readonly [T, number])[]): T {
  let total = 0;
  for (const [, w] of items) total += w;
  let r = rng() * total;
  for (const [v, w] of items) {
    r -= w;
    if (r < 0) return v;
  }
  return items[items.length - 1]![0];
}

function who(rng: Rng): { user: string; team: string } {
  // A few heavy users and a long tail: index = 50 × u² favours low indices.
  const u = Math.floor(USERS * rng() ** 2);
  return { user: `user-${String(u + 1).padStart(2, '0')}`, team: TEAMS[u % TEAMS.length]! };
}

function sourcesBlock(passages: readonly Passage[]): string {
  return passages.map((p, i) => `[${i + 1}] ${p.title}: ${p.sentences.join(' ')}`).join('\n');
}

/** Passages for a RAG prompt: the one that answers, and one or two others a retriever would also bring. */
function retrieve(rng: Rng, answer: Passage): Passage[] {
  const others = PASSAGES.filter((p) => p !== answer);
  const picked = [answer];
  const extra = randInt(rng, 1, 2);
  while (picked.length < extra + 1) {
    const p = pick(rng, others);
    if (!picked.includes(p)) picked.push(p);
  }
  // The answering passage is not always first.
  for (let i = picked.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [picked[i], picked[j]] = [picked[j]!, picked[i]!];
  }
  return picked;
}

const OPENERS = ['', '', '', 'Yes. ', 'Good question. ', 'Sure. '];

const hasFigure = (s: string): boolean => /\d/.test(s);

/**
 * Sentences of a passage for one answer: `first`, then up to `more` others in order. At most one states a figure:
 * the self-consistency check reads two figures near shared words ("The Starter plan costs 19 dollars", "The Team plan
 * costs 49 dollars") as one fact given two values, so a faithful answer keeps such sentences apart.
 */
function sentencesFor(passage: Passage, first: number, more: number): string[] {
  const out = [passage.sentences[first]!];
  let figures = hasFigure(out[0]!) ? 1 : 0;
  for (let i = 0; i < passage.sentences.length && out.length <= more; i++) {
    const s = passage.sentences[i]!;
    if (i === first || (hasFigure(s) && figures > 0)) continue;
    if (hasFigure(s)) figures++;
    out.push(s);
  }
  return out;
}

/** A grounded answer: the sentence that answers the question, sometimes one more, each cited. */
function groundedAnswer(rng: Rng, passage: Passage, lead: number, source: number, cite: boolean): string[] {
  const out = sentencesFor(passage, lead, rng() < 0.6 ? 1 : 0);
  return cite ? out.map((s) => `${s.slice(0, -1)} [${source}].`) : out;
}

/** Turns an answer into a hallucination: a number changed, a place or name swapped, or an invented claim added. */
export function hallucinate(rng: Rng, sentences: readonly string[]): string[] {
  const out = [...sentences];
  const withNumber = out.findIndex((s) => /\b\d+(\.\d+)?\b/.test(s.replace(/\[\d+\]/g, '')));
  const r = rng();
  if (withNumber >= 0 && r < 0.6) {
    out[withNumber] = out[withNumber]!.replace(/\b(\d+)(\.\d+)?\b(?!\])/, (_m, int: string, frac?: string) => {
      const n = Number(int);
      const changed = n <= 3 ? n + randInt(rng, 2, 5) : Math.round(n * (rng() < 0.5 ? 1.5 : 0.5)) || n + 7;
      return `${changed === n ? n + 11 : changed}${frac ?? ''}`;
    });
    return out;
  }
  const name = pick(rng, INVENTED_NAMES);
  const year = randInt(rng, 2019, 2024);
  out.push(
    pick(rng, [
      `${PRODUCT} also opened a data center in ${name} in ${year}.`,
      `The ${name} plan includes ${randInt(rng, 2, 9)} free support hours per month.`,
      `Since ${year}, customers in ${name} get a ${randInt(rng, 20, 40)} percent discount.`,
    ]),
  );
  return out;
}

const RAG_SYSTEM =
  `You are the help assistant of ${PRODUCT}. Answer the question using only the sources below and cite them as [n]. ` +
  'If the sources do not answer it, say so.';

/** One production request; `conditions` may slow or fail its model, or make it the spiking user's. */
export function planProduction(rng: Rng, o: ProductionOptions, conditions: TrafficConditions): Planned {
  const { user, team } = who(rng);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-llmscope-user': user,
    'x-llmscope-team': team,
  };
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
  const feature = weighted(rng, FEATURE_MIX);
  headers['x-llmscope-feature'] = feature;
  headers['x-llmscope-session'] = `${user}-s${randInt(rng, 1, 4)}`;

  if (feature === 'embeddings') {
    const docs = Array.from({ length: randInt(rng, 1, 4) }, () => {
      const p = pick(rng, PASSAGES);
      return `${p.title}: ${p.sentences.join(' ')}`;
    });
    const body = { model: o.embeddingModel, input: docs.length === 1 ? docs[0] : docs };
    headers['x-llmscope-feature'] = 'kb-indexing';
    headers['x-simulator-ttft-ms'] = String(randInt(rng, 30, 90));
    return {
      path: '/embeddings',
      headers,
      body: JSON.stringify(body),
      stream: false,
      cancelAfterChunks: null,
      kind: 'embedding',
    };
  }

  const model = weighted(rng, o.models);
  let kind: AnswerKind = 'grounded';
  let messages: { role: string; content: string }[];
  let reply: string;
  let tools: unknown[] | undefined;
  let toolCall: string | undefined;
  if (feature === 'chat-assistant') {
    const t = pick(rng, SMALL_TALK);
    messages = [{ role: 'user', content: t.prompt }];
    reply = t.answer;
    kind = 'no_knowledge';
  } else if (feature === 'code-review') {
    const c = pick(rng, CODE_REVIEWS);
    messages = [
      { role: 'system', content: 'Review this diff.' },
      { role: 'user', content: c.diff },
    ];
    reply = c.answer;
    kind = 'no_knowledge';
  } else {
    const passage = pick(rng, PASSAGES);
    const sources = retrieve(rng, passage);
    const source = sources.indexOf(passage) + 1;
    let sentences: string[];
    if (feature === 'summarize') {
      messages = [
        { role: 'system', content: 'Summarize the document in two sentences.' },
        { role: 'user', content: `${passage.title}\n${passage.sentences.join(' ')}` },
      ];
      sentences = sentencesFor(passage, 0, 1);
    } else if (feature === 'extract') {
      messages = [
        { role: 'system', content: 'State the key facts of the document.' },
        { role: 'user', content: `${passage.title}\n${passage.sentences.join(' ')}` },
      ];
      sentences = sentencesFor(passage, 0, randInt(rng, 1, 3));
    } else {
      const [question, lead] = pick(rng, passage.questions);
      const contact = feature === 'support-bot' && rng() < CONTACT_SHARE ? `Hi, ${user}@example.com here. ` : '';
      messages = [
        { role: 'system', content: `${RAG_SYSTEM}\n\nSources:\n${sourcesBlock(sources)}` },
        { role: 'user', content: contact + question },
      ];
      sentences = groundedAnswer(rng, passage, lead, source, rng() < 0.7);
      if (feature === 'support-bot') {
        tools = TOOLS.map((t) => ({
          type: 'function',
          function: { name: t.name, description: t.description, parameters: { type: 'object' } },
        }));
        if (rng() < TOOL_SHARE) {
          const t = pick(rng, TOOLS);
          messages[1] = { role: 'user', content: t.ask };
          toolCall = JSON.stringify({ name: t.name, arguments: t.arguments });
          kind = 'tool_call';
        }
      }
    }
    if (kind === 'grounded' && rng() < o.hallucinationRate) {
      sentences = hallucinate(rng, sentences);
      kind = 'hallucinated';
    }
    const opener = feature === 'extract' ? '' : pick(rng, OPENERS);
    // One line: the reply travels in a header (extracted facts are sentences in a row, not a bulleted list).
    reply = (feature === 'extract' ? '' : opener) + sentences.join(' ');
    if (kind === 'grounded' && rng() < REFUSAL_SHARE) kind = 'refusal';
  }

  const profile = PRODUCTION_PROFILES[model];
  let ttft = profile?.ttft;
  let tpot = profile?.tpot;
  if (conditions.slow?.models.includes(model) && ttft !== undefined && tpot !== undefined) {
    ttft *= conditions.slow.ttftFactor;
    tpot *= conditions.slow.tpotFactor;
  }
  if (ttft !== undefined) headers['x-simulator-ttft-ms'] = String(ttft);
  if (tpot !== undefined) headers['x-simulator-tpot-ms'] = String(tpot);
  if (toolCall) headers['x-simulator-tool-call'] = toolCall;
  else if (kind === 'refusal') headers['x-simulator-fault'] = 'refusal';
  else headers['x-simulator-reply'] = reply;
  const fault = faultFor(rng, model, conditions, o.backgroundErrors ?? true);
  if (fault) headers['x-simulator-fault'] = fault;

  const stream = rng() < 0.6;
  const body: Record<string, unknown> = { model, messages };
  if (tools) body.tools = tools;
  if (stream) {
    body.stream = true;
    if (rng() < 0.8) body.stream_options = { include_usage: true };
  }
  return {
    path: '/chat/completions',
    headers,
    body: JSON.stringify(body),
    stream,
    cancelAfterChunks: stream && rng() < CANCEL_SHARE ? randInt(rng, 2, 8) : null,
    kind,
  };
}

function faultFor(rng: Rng, model: string, conditions: TrafficConditions, background: boolean): string | null {
  const e = conditions.errors;
  if (e?.models.includes(model) && rng() < e.rate) return rng() < 0.75 ? 'server_error' : 'rate_limit';
  let r = rng();
  if (!background) return null;
  for (const [fault, share] of BACKGROUND_FAULTS) {
    if (r < share) return fault;
    r -= share;
  }
  return null;
}

/**
 * The spiking user's runaway research agent: an expensive reasoning model, the whole knowledge base in a context that
 * grows with every step (`step`, from 0), and a long report built from it. Each call costs over a dollar.
 */
export function planSpike(spike: NonNullable<TrafficConditions['spike']>, step: number, apiKey?: string): Planned {
  const notes = PASSAGES.map((p) => `${p.title}: ${p.sentences.join(' ')}`).join('\n');
  const rounds = 4 + 2 * step;
  const history: { role: string; content: string }[] = [
    { role: 'system', content: `You are a research agent. Write a complete report on ${PRODUCT} from your notes.` },
  ];
  for (let i = 0; i < rounds; i++) {
    history.push({ role: 'user', content: `Notes, round ${i + 1}:\n${notes}` });
    history.push({ role: 'assistant', content: 'Noted. Continuing the research.' });
  }
  history.push({ role: 'user', content: 'Write the full report now.' });
  const report = PASSAGES.flatMap((p) => p.sentences).join(' ');
  const profile = PRODUCTION_PROFILES[spike.model] ?? { ttft: 2000, tpot: 6 };
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-llmscope-user': spike.user,
    'x-llmscope-team': spike.team,
    'x-llmscope-feature': 'research-agent',
    'x-llmscope-session': `${spike.user}-agent`,
    'x-simulator-ttft-ms': String(profile.ttft),
    'x-simulator-tpot-ms': String(profile.tpot),
    'x-simulator-reply': report,
  };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  return {
    path: '/chat/completions',
    headers,
    body: JSON.stringify({ model: spike.model, messages: history }),
    stream: false,
    cancelAfterChunks: null,
    kind: 'grounded',
  };
}
