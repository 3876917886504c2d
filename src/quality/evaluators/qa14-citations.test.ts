// QA14: a made-up DOI or arXiv id was no citation to attribution ("no citations to check", verdict unknown) unless
// written inside a URL; now each must appear in the request's context or the knowledge base, like a URL.
import { describe, expect, it } from 'vitest';
import { KnowledgeBase } from '../knowledge.js';
import { SourceAttributionEvaluator } from './attribution.js';

const kb = KnowledgeBase.fromDocuments([
  {
    id: 'battery-study.md',
    text: 'Okafor and de Vries (2022), doi:10.5555/jwe.2022.0143, measured widget batteries: 18 hours on one charge.',
  },
]);
const question = 'Cite research on widget batteries.';
const a = new SourceAttributionEvaluator();
const check = (response: string, context = [question]) => a.evaluate({ question, context, response, knowledge: kb });

describe('attribution: DOIs and arXiv ids (QA14)', () => {
  it('fails an invented DOI or arXiv id, however it is written', async () => {
    for (const response of [
      'See doi:10.1038/s41586-019-99999-x for the battery study.',
      'The battery study (DOI 10.1038/s41586-019-99999-x) found 18 hours.',
      'See arXiv:2107.99999 for the battery study.',
    ]) {
      const r = await check(response);
      expect(r.verdict, response).toBe('fail');
      expect(r.claims?.[0]?.reasons?.[0]).toMatch(/invented reference/);
    }
  });

  it('passes one the knowledge base or the context states', async () => {
    expect((await check('The study (doi:10.5555/jwe.2022.0143) found 18 hours.')).verdict).toBe('pass');
    const context = ['Source: Lee et al., arXiv:2301.01234v2, on battery ageing in consumer devices.', question];
    expect((await check('Lee et al. (arXiv:2301.01234v2) studied battery ageing.', context)).verdict).toBe('pass');
  });

  it('checks a DOI inside a URL once, as the URL', async () => {
    const r = await check('See https://doi.org/10.1038/s41586-019-99999-x for details.');
    expect(r.verdict).toBe('fail');
    expect(r.claims).toHaveLength(1);
  });
});
