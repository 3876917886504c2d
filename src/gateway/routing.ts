// Model → provider routing: explicit `routes` first (in order), then each provider's `models` patterns; with a
// single provider that declares no patterns (the `--upstream` case) every model goes to it. Each wire format has its
// own router: only providers of the types that serve it (and routes to them) take part.
import type { ProviderConfig, RouteConfig } from '../config/index.js';
import { isVertexBaseUrl } from '../providers/index.js';

export interface Resolved {
  provider: ProviderConfig;
  upstreamModel: string;
}

/** A model pattern (`gpt-4o*`, `claude-?-*`: `*` any characters, `?` one; case-insensitive) as a RegExp. */
export function globToRegExp(pattern: string): RegExp {
  const esc = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${esc}$`, 'i');
}

export class ModelRouter {
  private readonly routes: { re: RegExp; route: RouteConfig; provider: ProviderConfig }[] = [];
  private readonly patterns: { re: RegExp; pattern: string; provider: ProviderConfig }[] = [];
  private readonly catchAll: ProviderConfig | null;
  private readonly first: ProviderConfig | null;
  private readonly cache = new Map<string, Resolved | null>();

  constructor(
    all: readonly ProviderConfig[],
    routes: readonly RouteConfig[],
    types: readonly ProviderConfig['type'][] = ['openai-compatible'],
  ) {
    const providers = all.filter((p) => types.includes(p.type ?? 'openai-compatible'));
    const byName = new Map(providers.map((p) => [p.name, p]));
    for (const route of routes) {
      const provider = byName.get(route.provider);
      if (provider) this.routes.push({ re: globToRegExp(route.model), route, provider });
    }
    for (const p of providers)
      for (const m of p.models) this.patterns.push({ re: globToRegExp(m), pattern: m, provider: p });
    const open = providers.filter((p) => p.models.length === 0);
    this.catchAll = open.length === 1 && open[0] ? open[0] : null;
    this.first = providers[0] ?? null;
  }

  resolve(model: string): Resolved | null {
    const hit = this.cache.get(model);
    if (hit !== undefined) return hit;
    const r = this.lookup(model);
    if (this.cache.size < 10_000) this.cache.set(model, r);
    return r;
  }

  private lookup(model: string): Resolved | null {
    for (const r of this.routes)
      if (r.re.test(model)) return { provider: r.provider, upstreamModel: r.route.upstreamModel ?? model };
    for (const p of this.patterns) if (p.re.test(model)) return { provider: p.provider, upstreamModel: model };
    return this.catchAll ? { provider: this.catchAll, upstreamModel: model } : null;
  }

  /** Every model name pattern that routes somewhere (for error messages and /v1/models). */
  knownPatterns(): string[] {
    return [...this.routes.map((r) => r.route.model), ...this.patterns.map((p) => p.pattern)];
  }

  /** The provider for a call that names no model (GET /v1/responses/{id}, ...): the catch-all, else the first. */
  defaultProvider(): ProviderConfig | null {
    return this.catchAll ?? this.first;
  }

  hasCatchAll(): boolean {
    return this.catchAll !== null;
  }
}

/**
 * The router a call on a Vertex AI path asks first: over the providers of `types` whose baseUrl is a Vertex AI host
 * (isVertexBaseUrl), by the routes and models patterns as ModelRouter does (the one such provider naming no models
 * takes every model); when it resolves nothing, the format's own router decides, by models as for any call.
 */
export function vertexRouter(
  all: readonly ProviderConfig[],
  routes: readonly RouteConfig[],
  types: readonly ProviderConfig['type'][],
): ModelRouter {
  return new ModelRouter(
    all.filter((p) => isVertexBaseUrl(p.baseUrl)),
    routes,
    types,
  );
}
