// A small reader of the Prometheus text exposition format (0.0.4): sample lines with labels, comments skipped.
// Enough for a DCGM exporter page; histograms and exemplars are not needed here.

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(s: string): number {
  switch (s) {
    case 'NaN':
      return Number.NaN;
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
    default: {
      const n = Number(s);
      if (s === '' || Number.isNaN(n)) throw new Error(`not a sample value: ${s}`);
      return n;
    }
  }
}

/** Parses one sample line; throws on a malformed line. */
export function parsePromLine(line: string): PromSample {
  const m = NAME.exec(line);
  if (!m) throw new Error(`no metric name in: ${line.slice(0, 200)}`);
  const name = m[0];
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const ln = LABEL_NAME.exec(line.slice(i));
      if (!ln) throw new Error(`bad label name in: ${line.slice(0, 200)}`);
      i += ln[0].length;
      while (line[i] === ' ') i++;
      if (line[i] !== '=' || line[i + 1] !== '"') throw new Error(`bad label in: ${line.slice(0, 200)}`);
      i += 2;
      let v = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new Error(`unterminated label value in: ${line.slice(0, 200)}`);
        if (c === '"') {
          i++;
          break;
        }
        if (c === '\\') {
          const e = line[i + 1];
          v += e === 'n' ? '\n' : (e ?? '');
          i += 2;
          continue;
        }
        v += c;
        i++;
      }
      labels[ln[0]] = v;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  return { name, labels, value: parseValue(rest[0] ?? '') };
}

/** All samples of a page; malformed lines are skipped and counted in `skipped`. */
export function parsePromText(text: string): { samples: PromSample[]; skipped: number } {
  const samples: PromSample[] = [];
  let skipped = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    try {
      samples.push(parsePromLine(line));
    } catch {
      skipped++;
    }
  }
  return { samples, skipped };
}
