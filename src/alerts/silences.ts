// Silences: matchers plus a time range; an alert they match is not notified while the silence is active.
// Expiring one (DELETE) ends it now, as Alertmanager does; expired silences stay listed until pruned.
import { randomUUID } from 'node:crypto';
import { type Matcher, matcherText, matchesAll, parseMatchers } from './matchers.js';
import type { MatchersInput } from './spec.js';
import type { AlertStateStore, SilenceRecord } from './state/types.js';

export interface Silence extends SilenceRecord {
  parsed: Matcher[];
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

  constructor(private readonly state: AlertStateStore) {}

  async load(): Promise<void> {
    this.list.clear();
    for (const s of await this.state.listSilences()) {
      try {
        this.list.set(s.id, { ...s, parsed: parseMatchers(s.matchers) });
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
    if (parsed.length === 0) throw new Error('a silence needs at least one matcher');
    if (parsed.every((m) => (m.op === '=~' ? new RegExp(`^(?:${m.value})$`).test('') : m.op === '=' && m.value === '')))
      throw new Error('a silence must not match every alert; give at least one matcher that needs a value');
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
    };
    await this.state.putSilence(strip(s));
    this.list.set(s.id, s);
    return s;
  }

  /** Ends a silence now; null when there is no such silence. */
  async expire(id: string, now: number): Promise<Silence | null> {
    const s = this.list.get(id);
    if (!s) return null;
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
    for (const [id, s] of this.list) if (s.endsAt < before) this.list.delete(id);
  }
}

function strip(s: Silence): SilenceRecord {
  const { parsed: _parsed, ...rest } = s;
  return rest;
}
