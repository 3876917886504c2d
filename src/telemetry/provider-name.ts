// The provider a gateway call's exported span names in `gen_ai.provider.name`: one of the OpenTelemetry GenAI
// conventions' well-known values, from what the provider is (its wire format, and its baseUrl's host where that says
// more: Azure OpenAI, Bedrock, Vertex AI ...), not the name the config gives it (`openai-prod`, `my-vllm`), which
// goes in `llmscope.provider` beside it. The stored call keeps the configured name (decision 58).
import { isVertexBaseUrl } from '../providers/vertex.js';

export interface ProviderIdentity {
  name: string;
  type: 'openai-compatible' | 'anthropic' | 'openai-responses' | 'gemini';
  baseUrl: string;
  googleCredentials?: string | undefined;
}

/** API hosts of providers the conventions name, beyond those a wire format implies. */
const HOSTS: readonly [RegExp, string][] = [
  [/(^|\.)openai\.azure\.com$|\.cognitiveservices\.azure\.com$/, 'azure.ai.openai'],
  [/\.services\.ai\.azure\.com$|(^|\.)inference\.ai\.azure\.com$|\.models\.ai\.azure\.com$/, 'azure.ai.inference'],
  [/^bedrock(-runtime)?(-fips)?\.[a-z0-9-]+\.amazonaws\.com$/, 'aws.bedrock'],
  [/^generativelanguage\.googleapis\.com$/, 'gcp.gemini'],
  [/^api\.openai\.com$/, 'openai'],
  [/^api\.anthropic\.com$/, 'anthropic'],
  [/^api\.mistral\.ai$/, 'mistral_ai'],
  [/^api\.groq\.com$/, 'groq'],
  [/^api\.deepseek\.com$/, 'deepseek'],
  [/^api\.x\.ai$/, 'x_ai'],
  [/^api\.perplexity\.ai$/, 'perplexity'],
  [/^api\.cohere\.(com|ai)$/, 'cohere'],
  [/\.ml\.cloud\.ibm\.com$/, 'ibm.watsonx.ai'],
];

/**
 * The conventions' `gen_ai.provider.name` for a configured provider: its host's provider where known, Vertex AI for a
 * Vertex host or Google credentials, else its wire format's (`openai` for the OpenAI formats, as the conventions ask of
 * any OpenAI-compatible upstream an instrumentation cannot tell apart, `anthropic`, `gcp.gemini`).
 */
export function wellKnownProvider(p: ProviderIdentity): string {
  let host = '';
  try {
    host = new URL(p.baseUrl).hostname.toLowerCase();
  } catch {
    // not a URL (the config validates it): the wire format decides
  }
  if (isVertexBaseUrl(p.baseUrl) || p.googleCredentials !== undefined) return 'gcp.vertex_ai';
  for (const [re, name] of HOSTS) if (re.test(host)) return name;
  if (p.type === 'anthropic') return 'anthropic';
  if (p.type === 'gemini') return 'gcp.gemini';
  return 'openai';
}

/** Configured name → well-known value, for every provider of the config (made once, when the exporter is made). */
export function wellKnownProviders(providers: readonly ProviderIdentity[]): ReadonlyMap<string, string> {
  return new Map(providers.map((p) => [p.name, wellKnownProvider(p)]));
}
