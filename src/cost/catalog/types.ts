// The shape of the price catalog: data in the repo (never fetched at run time), prices in USD per 1M tokens
// as providers publish them, each entry with its source URL and the dates its prices took effect.

/** A price bracket that applies when the prompt is larger than `aboveInputTokens` (long-context pricing). */
export interface PriceTier {
  aboveInputTokens: number;
  input: number;
  output: number;
  cachedInput?: number;
  cacheWrite?: number;
  cacheWrite1h?: number;
}

/** A service tier's prices (OpenAI's Flex and Priority processing), USD per 1M tokens. */
export interface ServiceTierPrice {
  input: number;
  output: number;
  /** Default: the tier's input price (no discount). */
  cachedInput?: number;
}

/** The prices of a model from a date on (UTC, inclusive) until the next version. USD per 1M tokens. */
export interface PriceVersion {
  from: string;
  input: number;
  output: number;
  /** Cache hits / cached input (default: the input price, i.e. no discount). */
  cachedInput?: number;
  /** Writing the prompt cache (Anthropic: 5-minute cache write). */
  cacheWrite?: number;
  /** Writing a 1-hour prompt cache (Anthropic: 2 × input); absent: such writes cost `cacheWrite`. */
  cacheWrite1h?: number;
  /**
   * Audio tokens (OpenAI's Realtime and transcription models), which cost more than text: input audio, cached input
   * audio (default: `audioInput`, no discount) and output audio. Absent: audio tokens are priced as text.
   */
  audioInput?: number;
  cachedAudioInput?: number;
  audioOutput?: number;
  /** Long-context tiers, ascending by `aboveInputTokens`; the largest tier below the prompt size applies. */
  tiers?: PriceTier[];
  /**
   * Calls the answer says were served at `service_tier: "flex"` (OpenAI's Flex processing). Absent: an OpenAI
   * model's flex calls cost half its standard prices (Flex is billed at Batch prices), any other model's the standard.
   */
  flex?: ServiceTierPrice;
  /**
   * Calls served at `service_tier: "priority"` (OpenAI's Priority processing), below any long-context tier (Priority
   * excludes long context). Absent: such calls are priced at the standard prices (nothing is invented).
   */
  priority?: ServiceTierPrice;
  /**
   * Per-unit prices of the models OpenAI bills by something other than tokens (USD, additive to any token prices):
   * per image by quality then size (DALL·E: `{ standard: { '1024x1024': 0.04 }, hd: {...} }`), per minute of audio
   * (whisper-1, billed by the second), per 1M characters of input text (tts-1, tts-1-hd). src/cost/units.ts.
   */
  perImage?: Record<string, Record<string, number>>;
  perMinute?: number;
  perMillionCharacters?: number;
}

export interface CatalogEntry {
  /** `provider/model`, stable: stored in each call's `price.source`. */
  id: string;
  /** Who bills for it (a catalog provider such as openai, anthropic, google, groq, together). */
  provider: string;
  /** The model's canonical API name. */
  model: string;
  /** Other names that mean this model: dated snapshots, `-latest` names, other hosts' spellings. */
  aliases?: string[];
  kind?: 'chat' | 'embedding';
  /** Where the price is published. */
  source: string;
  /** Ascending by `from`. */
  prices: PriceVersion[];
  /** Anything a reader should know (deprecations, discounts not modelled). */
  note?: string;
}

/** A catalog file: one provider's entries and when they were last checked against the source. */
export interface CatalogFile {
  provider: string;
  checked: string;
  entries: CatalogEntry[];
}
