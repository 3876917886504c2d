// The providers' built-in web search (and OpenAI's file search), as the simulator runs it: a request that declares
// the tool gets that many searches (`x-simulator-web-searches: N`, default 1; 0: none; Anthropic's `max_uses` caps
// it) before its answer, each with a query taken from the prompt's last words and a few result pages whose text is
// read as input tokens, as the real APIs bill it. The answer's shapes are each route's (anthropic.ts, responses.ts).
import type { IncomingHttpHeaders } from 'node:http';
import { countTokens } from './text.js';

type Json = Record<string, unknown>;

/** Pages each search finds. */
const RESULTS = 3;
/** The most searches a request gets (max_uses aside). */
const MAX_SEARCHES = 10;

/** The tool definitions of a request of `type` (a prefix of the type, e.g. `web_search_` for Anthropic's). */
function declared(b: Json, test: (type: string) => boolean): Json | null {
  if (!Array.isArray(b.tools)) return null;
  for (const t of b.tools) {
    const o = t as Json | null;
    if (o && typeof o.type === 'string' && test(o.type)) return o;
  }
  return null;
}

/**
 * The text of the last user message among `items` (Anthropic's `messages`, the Responses API's `input` items): its
 * string content, or its parts' text joined. What a search's query is taken from.
 */
export function lastUserText(items: unknown): string {
  const list = Array.isArray(items) ? (items as Json[]) : [];
  for (let i = list.length - 1; i >= 0; i--) {
    const m = list[i];
    if (m?.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content))
      return (m.content as Json[])
        .map((p) => (typeof p?.text === 'string' ? p.text : ''))
        .join(' ')
        .trim();
  }
  return '';
}

/** How many searches a request gets: none unless it declares the tool, else the header's count (default 1). */
function searchCount(headers: IncomingHttpHeaders, tool: Json | null): number {
  if (!tool) return 0;
  const v = headers['x-simulator-web-searches'];
  const raw = Number(Array.isArray(v) ? v[0] : v);
  let n = v === undefined ? 1 : Number.isFinite(raw) && raw >= 0 ? Math.floor(raw) : 1;
  n = Math.min(n, MAX_SEARCHES);
  if (typeof tool.max_uses === 'number' && tool.max_uses >= 0) n = Math.min(n, Math.floor(tool.max_uses));
  return n;
}

/** Anthropic's web search server tool (`web_search_20250305`, `web_search_20260209`): searches the request gets. */
export const anthropicSearches = (b: Json, headers: IncomingHttpHeaders): number =>
  searchCount(
    headers,
    declared(b, (t) => t.startsWith('web_search_')),
  );

/** The Responses API's web search tool (`web_search`, `web_search_2025_08_26`, `web_search_preview*`). */
export const responsesWebSearches = (b: Json, headers: IncomingHttpHeaders): number =>
  searchCount(
    headers,
    declared(b, (t) => t === 'web_search' || t.startsWith('web_search_')),
  );

/** The Responses API's file search tool (`file_search`, with `vector_store_ids`): one search when declared. */
export const responsesFileSearches = (b: Json): number => (declared(b, (t) => t === 'file_search') ? 1 : 0);

/** A search query from a prompt: its last few words (at most 8, 80 characters). */
export function queryOf(prompt: string): string {
  const words = prompt.replace(/\s+/g, ' ').trim().split(' ').slice(-8).join(' ');
  return (words || 'latest news').slice(0, 80);
}

export interface SearchResult {
  url: string;
  title: string;
  page_age: string;
  /** What the model reads of the page (its tokens are billed as input). */
  text: string;
}

/** The pages search `j` for `query` finds (the same each time for the same query). */
export function searchResults(query: string, j: number): SearchResult[] {
  const slug =
    query
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'search';
  const out: SearchResult[] = [];
  for (let k = 0; k < RESULTS; k++)
    out.push({
      url: `https://example.com/${slug}/${j + 1}-${k + 1}`,
      title: `${query} (result ${k + 1})`,
      page_age: `${k + 1} days ago`,
      text: `About ${query}: what the page says, in the sentences a search result carries, number ${k + 1}.`,
    });
  return out;
}

/** Input tokens the results of `searches` searches for `query` add (the model reads their pages). */
export function resultTokens(query: string, searches: number): number {
  let n = 0;
  for (let j = 0; j < searches; j++) for (const r of searchResults(query, j)) n += countTokens(`${r.title}\n${r.text}`);
  return n;
}
