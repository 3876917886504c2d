// Pricing config that can never price a call: a `pricing.models[].sameAs` or a `pricing.aliases` target that names no
// catalog model (a typo such as `claude-haikoo-4-5`, or any name with `pricing.catalog: false`). The schema cannot
// tell, and at run time such a rule is skipped without a word: the calls it was meant to price fall to the next rule
// or the catalog, else stay unpriced (cost null). serve and check-config warn about them (cli/startup-checks.ts).
import type { PricingConfig } from './config.js';
import { PriceBook } from './pricing.js';

export interface PricingProblem {
  path: string;
  message: string;
}

export function pricingProblems(pricing: Pick<PricingConfig, 'catalog' | 'models' | 'aliases'>): PricingProblem[] {
  const book = new PriceBook(pricing);
  const why = pricing.catalog
    ? 'is no catalog model (GET /api/cost/catalog lists the names)'
    : 'cannot be found with pricing.catalog: false';
  const out: PricingProblem[] = [];
  pricing.models.forEach((m, i) => {
    if (m.sameAs !== undefined && book.entryFor(m.sameAs) === null)
      out.push({
        path: `pricing.models[${i}].sameAs`,
        message: `"${m.sameAs}" ${why}, so this rule prices nothing: calls to "${m.model}" go to the next rule or the catalog, else stay unpriced (cost null)`,
      });
  });
  for (const [name, target] of Object.entries(pricing.aliases))
    if (book.entryFor(target) === null)
      out.push({
        path: `pricing.aliases.${name}`,
        message: `"${target}" ${why}, so calls to "${name}" are priced as their own name (unpriced unless the catalog knows it)`,
      });
  return out;
}
