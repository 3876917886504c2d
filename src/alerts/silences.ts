// Silences: matchers plus a time range; an alert they match is not notified while the silence is active.
// Expiring one (DELETE) ends it now, as Alertmanager does; expired silences stay listed until pruned.
import { randomUUID } from 'node:crypto';
import { type Matcher, matcherText, matchesAll, parseMatchers } from './matchers.js';
import type { ConfigSilence, MatchersInput } from './spec.js';
import type { AlertStateStore, SilenceRecord } from './state/types.js';

export interface Silence extends SilenceRecord {
  parsed: Matcher[];
  /** `config`: from `alerts.silences` in the config file (not stored, not expirable through the API). */
  source: 'api' | 'config';
}

/** Why these matchers cannot make a silence (none, or they match every alert); null when they can. */
export function silenceMatchersProblem(parsed: Matcher[]): string | null {
  if (parsed.length === 0) return 'a silence needs at least one matcher';
  // as Alertmanager: at least one matcher must fail on the empty value (an alert without the label); model!="x"
  // alone holds for every other model and every alert without one, so it muted nearly everything
  const empty = (m: Matcher) =>
    m.op === '='
      ? m.value === ''
      : m.op === '!='
        ? m.value !== ''
        : (m.op === '=~') === new RegExp(`^(?:${m.value})$`).test('');
  if (parsed.every(empty))
    return 'a silence must not match every alert; give at least one matcher that needs a value (model="gpt-4o"; model!="x" alone also matches every other model and every alert without one), as Alertmanager requires';
  return null;
}

/** The config file's silences (validated by the config schema), with stable ids `config-1`, `config-2`, …. */
export function configSilences(list: readonly ConfigSilence[], now: number): Silence[] {
  const out: Silence[] = [];
  list.forEach((c, i) => {
    try {
      const parsed = parseMatchers(c.matchers);
      if (silenceMatchersProblem(parsed)) return;
      out.push({
        id: `config-${i + 1}`,
        matchers: parsed.map(matcherText),
        parsed,
        startsAt: c.startsAt ?? 0,
        endsAt: c.always ? Number.POSITIVE_INFINITY : (c.endsAt ?? Number.POSITIVE_INFINITY),
        createdBy: 'config',
        comment: c.comment,
        createdAt: now,
        updatedAt: now,
        source: 'config',
      });
    } catch {
      /* check-config refuses it; a silence that does not parse silences nothing */
    }
  });
  return out;
}

export type SilenceStatus = 'pending' | 'active' | 'expired';

export function silenceStatus(s: SilenceRecord, now: number): SilenceStatus {
  if (now < s.startsAt) return 'pending';
  if (now >= s.endsAt) return 'expired';
  return 'active';
}

export interface NewSilence {
  matchers: MatchersInput;
  startsAt?: number;
  endsAt: number;
  createdBy?: string;
  comment?: string;
}

export class Silences {
  private readonly list = new Map<string, Silence>();

  constructor(
    private readonly state: AlertStateStore,
    private readonly fromConfig: readonly Silence[] = [],
  ) {
    for (const s of fromConfig) this.list.set(s.id, s);
  }

  async load(): Promise<void> {
    // read first: a store that cannot answer leaves the list as it was, not emptied of the silences it holds
    const stored = await this.state.listSilences();
    this.list.clear();
    for (const s of this.fromConfig) this.list.set(s.id, s);
    for (const s of stored) {
      if (this.list.get(s.id)?.source === 'config') continue;
      try {
        this.list.set(s.id, { ...s, parsed: parseMatchers(s.matchers), source: 'api' });
      } catch {
        /* a silence that no longer parses silences nothing */
      }
    }
  }

  all(): Silence[] {
    return [...this.list.values()].sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Creates a silence; throws with the reason when matchers or times are invalid. */
  async create(input: NewSilence, now: number): Promise<Silence> {
    const parsed = parseMatchers(input.matchers);
    const problem = silenceMatchersProblem(parsed);
    if (problem) throw new Error(problem);
    const startsAt = input.startsAt ?? now;
    if (!(input.endsAt > startsAt)) throw new Error('ends_at must be after starts_at');
    if (input.endsAt <= now) throw new Error('ends_at is in the past');
    const s: Silence = {
      id: randomUUID(),
      matchers: parsed.map(matcherText),
      parsed,
      startsAt,
      endsAt: input.endsAt,
      createdBy: input.createdBy ?? 'api',
      comment: input.comment ?? '',
      createdAt: now,
      updatedAt: now,
      source: 'api',
    };
    await this.state.putSilence(strip(s));
    this.list.set(s.id, s);
    return s;
  }

  get(id: string): Silence | undefined {
    return this.list.get(id);
  }

  /** Ends a silence now; null when there is no such silence. A config-file silence is not expired (the caller refuses). */
  async expire(id: string, now: number): Promise<Silence | null> {
    const s = this.list.get(id);
    if (!s) return null;
    if (s.source === 'config') throw new Error(`silence ${id} comes from the config file`);
    if (s.endsAt > now) {
      s.endsAt = Math.max(now, s.startsAt);
      s.updatedAt = now;
      await this.state.putSilence(strip(s));
    }
    return s;
  }

  /** Ids of the active silences matching these labels. */
  mutedBy(labels: Record<string, string>, now: number): string[] {
    const out: string[] = [];
    for (const s of this.list.values())
      if (silenceStatus(s, now) === 'active' && matchesAll(s.parsed, labels)) out.push(s.id);
    return out;
  }

  prune(before: number): void {
    for (const [id, s] of this.list) if (s.endsAt < before && s.source !== 'config') this.list.delete(id);
  }
}

function strip(s: Silence): SilenceRecord {
  const { parsed: _parsed, source: _source, ...rest } = s;
  return rest;
}
