// Built-in tools billed per use on top of tokens (USD per 1,000 uses), by who bills the call. Checked 2026-12-07:
// - Anthropic's web search: $10 per 1,000 searches (usage.server_tool_use.web_search_requests), every model; web
//   fetch has no per-use charge (its content is billed as input tokens): priced at 0, so its count is still kept.
//   Code execution is billed by container time, not per use: not priced here.
// - OpenAI (Responses API): web search (`web_search`) $10 per 1,000 calls, every model; the older
//   `web_search_preview` tool $10 per 1,000 calls on reasoning models (o-series, GPT-5) and $25 on the others
//   (GPT-4o, GPT-4.1; its search content tokens free); file search $2.50 per 1,000 calls. Each web_search_call or
//   file_search_call output item is one call. A preview search by a model whose family is not known: unpriced.
// Gemini's grounding with Google Search is not priced: its free daily (Gemini 2.x) and monthly (Gemini 3) allowances
// make a call's charge depend on the project's other calls that day or month (docs/cost.md).
import type { BuiltInTool } from '../../calls/index.js';

export const TOOL_PRICES_CHECKED = '2026-12-07';

export const TOOL_PRICE_SOURCES: Readonly<Record<string, string>> = {
  anthropic: 'https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/web-search-tool',
  openai: 'https://platform.openai.com/docs/pricing#built-in-tools',
};

/** OpenAI's reasoning models (web_search_preview at $10 per 1,000): o-series and GPT-5 but its chat models. */
const REASONING = /^(o\d|gpt-5)/;
/** OpenAI's non-reasoning models that web_search_preview bills at $25 per 1,000. */
const NON_REASONING = /^(gpt-4o|gpt-4\.1|chatgpt-4o|gpt-5(\.\d+)?-chat)/;

/**
 * USD per 1,000 uses of `tool` on a call billed by `biller` (a catalog provider) to `model` (its canonical name);
 * null when no price is known.
 */
export function catalogToolPrice(biller: string, tool: BuiltInTool, model: string): number | null {
  if (biller === 'anthropic') return tool === 'web_search' ? 10 : tool === 'web_fetch' ? 0 : null;
  if (biller !== 'openai') return null;
  if (tool === 'file_search') return 2.5;
  if (tool === 'web_search') return 10;
  if (tool !== 'web_search_preview') return null;
  const m = model.toLowerCase();
  if (NON_REASONING.test(m)) return 25;
  return REASONING.test(m) ? 10 : null;
}
