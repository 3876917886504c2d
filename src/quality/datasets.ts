// Loaders for the labelled hallucination sets in ../shared/datasets (BEGIN dev splits, HaluEval QA), used by the
// benchmark and by tests that check the grounding check beats the plain baseline. Each item is one response with
// its grounding knowledge and a label (true = hallucinated / not fully attributable).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LabelledItem {
  id: string;
  knowledge: string;
  question?: string;
  response: string;
  hallucinated: boolean;
}

export interface LabelledSet {
  name: string;
  items: LabelledItem[];
}

export const BEGIN_SPLITS = {
  wow: 'begin_dev_wow.tsv',
  'cmu-dog': 'begin_dev_cmu.tsv',
  topicalchat: 'begin_dev_tc.tsv',
} as const;

/** A BEGIN dev split; "Generic" rows (no claim) are left out. */
export function loadBegin(root: string, split: keyof typeof BEGIN_SPLITS): LabelledSet {
  const text = readFileSync(join(root, 'begin-dev', BEGIN_SPLITS[split]), 'utf8');
  const items: LabelledItem[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = (lines[i] as string).replace(/\r$/, '').split('\t');
    if (f.length < 6) continue;
    const label = (f[5] as string).trim();
    if (label === 'Generic') continue;
    items.push({
      id: `${split}:${i}`,
      knowledge: f[2] as string,
      question: f[3] as string,
      response: f[4] as string,
      hallucinated: label !== 'Fully attributable',
    });
  }
  return { name: `begin/${split}`, items };
}

/** HaluEval QA: each question gives two items, the right answer (grounded) and the hallucinated one. */
export function loadHaluEvalQa(root: string): LabelledSet {
  const text = readFileSync(join(root, 'halueval-qa', 'qa_one-turn_data.json'), 'utf8');
  const items: LabelledItem[] = [];
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as {
      knowledge: string;
      question: string;
      right_answer: string;
      hallucinated_answer: string;
    };
    n++;
    items.push({
      id: `halueval:${n}:right`,
      knowledge: o.knowledge,
      question: o.question,
      response: o.right_answer,
      hallucinated: false,
    });
    items.push({
      id: `halueval:${n}:hallucinated`,
      knowledge: o.knowledge,
      question: o.question,
      response: o.hallucinated_answer,
      hallucinated: true,
    });
  }
  return { name: 'halueval-qa', items };
}

export function loadAllSets(root: string): LabelledSet[] {
  return [loadBegin(root, 'wow'), loadBegin(root, 'cmu-dog'), loadBegin(root, 'topicalchat'), loadHaluEvalQa(root)];
}
