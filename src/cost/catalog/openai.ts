// OpenAI's per-token prices (standard tier, USD per 1M tokens). A call the answer says was served at
// `service_tier: "flex"` costs half these (Flex processing is billed at Batch prices; pricing.ts servicePrices), one
// served at "priority" the entry's `priority` prices: OpenAI's Priority processing table
// (https://openai.com/api-priority-processing/, checked 2026-12-06; excludes long context), for the models listed
// there; a model without them is priced at standard. Reasoning tokens are billed as output and OpenAI already counts
// them in completion_tokens.
// Checked 2026-12-06 against the model pages on developers.openai.com (gpt-5, gpt-5.1, gpt-5-mini, gpt-5-nano,
// gpt-5-pro, gpt-5.4-pro, gpt-5-codex, codex-mini-latest: unchanged where already here). GPT-5.2, 5.3-Codex, 5.4
// (but Pro), 5.4 mini/nano, 5.5 and 5.6 are left out: no first-party page with their prices was found in the stored
// copies (third-party tables disagree, and OpenAI cut prices several times in 2026), so they stay unpriced.
import type { CatalogFile } from './types.js';

const source = 'https://platform.openai.com/docs/pricing';

export const openaiCatalog: CatalogFile = {
  provider: 'openai',
  checked: '2026-12-06',
  entries: [
    {
      id: 'openai/gpt-5',
      provider: 'openai',
      model: 'gpt-5',
      aliases: ['gpt-5-2025-08-07', 'gpt-5-chat-latest', 'gpt-5.1', 'gpt-5.1-2025-11-13', 'gpt-5.1-chat-latest'],
      source,
      prices: [
        {
          from: '2025-08-07',
          input: 1.25,
          cachedInput: 0.125,
          output: 10,
          priority: { input: 2.5, cachedInput: 0.25, output: 20 },
        },
      ],
    },
    {
      // Responses API only; no cached-input price. Past 272K input tokens the whole call costs 2× input and
      // 1.5× output (the page's note, for standard, batch and flex).
      id: 'openai/gpt-5.4-pro',
      provider: 'openai',
      model: 'gpt-5.4-pro',
      aliases: ['gpt-5.4-pro-2026-03-05'],
      source: 'https://developers.openai.com/ko-KR/api/docs/models/gpt-5.4-pro',
      prices: [
        {
          from: '2026-03-05',
          input: 30,
          output: 180,
          tiers: [{ aboveInputTokens: 272_000, input: 60, output: 270 }],
        },
      ],
    },
    {
      // Responses API only; no cached-input price.
      id: 'openai/gpt-5-pro',
      provider: 'openai',
      model: 'gpt-5-pro',
      aliases: ['gpt-5-pro-2025-10-06'],
      source: 'https://developers.openai.com/ko-KR/api/docs/models/gpt-5-pro',
      prices: [{ from: '2025-10-06', input: 15, output: 120 }],
    },
    {
      id: 'openai/gpt-5-mini',
      provider: 'openai',
      model: 'gpt-5-mini',
      aliases: ['gpt-5-mini-2025-08-07'],
      source,
      prices: [
        {
          from: '2025-08-07',
          input: 0.25,
          cachedInput: 0.025,
          output: 2,
          priority: { input: 0.45, cachedInput: 0.045, output: 3.6 },
        },
      ],
    },
    {
      id: 'openai/gpt-5-nano',
      provider: 'openai',
      model: 'gpt-5-nano',
      aliases: ['gpt-5-nano-2025-08-07'],
      source,
      prices: [{ from: '2025-08-07', input: 0.05, cachedInput: 0.005, output: 0.4 }],
    },
    {
      id: 'openai/gpt-4.1',
      provider: 'openai',
      model: 'gpt-4.1',
      aliases: ['gpt-4.1-2025-04-14'],
      source,
      prices: [
        {
          from: '2025-04-14',
          input: 2,
          cachedInput: 0.5,
          output: 8,
          priority: { input: 3.5, cachedInput: 0.875, output: 14 },
        },
      ],
    },
    {
      id: 'openai/gpt-4.1-mini',
      provider: 'openai',
      model: 'gpt-4.1-mini',
      aliases: ['gpt-4.1-mini-2025-04-14'],
      source,
      prices: [
        {
          from: '2025-04-14',
          input: 0.4,
          cachedInput: 0.1,
          output: 1.6,
          priority: { input: 0.7, cachedInput: 0.175, output: 2.8 },
        },
      ],
    },
    {
      id: 'openai/gpt-4.1-nano',
      provider: 'openai',
      model: 'gpt-4.1-nano',
      aliases: ['gpt-4.1-nano-2025-04-14'],
      source,
      prices: [
        {
          from: '2025-04-14',
          input: 0.1,
          cachedInput: 0.025,
          output: 0.4,
          priority: { input: 0.2, cachedInput: 0.05, output: 0.8 },
        },
      ],
    },
    {
      id: 'openai/gpt-4o',
      provider: 'openai',
      model: 'gpt-4o',
      aliases: ['gpt-4o-2024-08-06', 'gpt-4o-2024-11-20'],
      source,
      prices: [
        {
          from: '2024-08-06',
          input: 2.5,
          cachedInput: 1.25,
          output: 10,
          priority: { input: 4.25, cachedInput: 2.125, output: 17 },
        },
      ],
    },
    {
      id: 'openai/gpt-4o-2024-05-13',
      provider: 'openai',
      model: 'gpt-4o-2024-05-13',
      source,
      prices: [{ from: '2024-05-13', input: 5, output: 15, priority: { input: 8.75, output: 26.25 } }],
    },
    {
      id: 'openai/chatgpt-4o-latest',
      provider: 'openai',
      model: 'chatgpt-4o-latest',
      source,
      prices: [{ from: '2024-08-13', input: 5, output: 15 }],
    },
    {
      id: 'openai/gpt-4o-mini',
      provider: 'openai',
      model: 'gpt-4o-mini',
      aliases: ['gpt-4o-mini-2024-07-18'],
      source,
      prices: [
        {
          from: '2024-07-18',
          input: 0.15,
          cachedInput: 0.075,
          output: 0.6,
          priority: { input: 0.25, cachedInput: 0.125, output: 1 },
        },
      ],
    },
    {
      id: 'openai/o3',
      provider: 'openai',
      model: 'o3',
      aliases: ['o3-2025-04-16'],
      source,
      note: 'Price cut by 80% on 2025-06-10.',
      prices: [
        { from: '2025-04-16', input: 10, cachedInput: 2.5, output: 40 },
        {
          from: '2025-06-10',
          input: 2,
          cachedInput: 0.5,
          output: 8,
          priority: { input: 3.5, cachedInput: 0.875, output: 14 },
        },
      ],
    },
    {
      id: 'openai/o3-pro',
      provider: 'openai',
      model: 'o3-pro',
      aliases: ['o3-pro-2025-06-10'],
      source,
      prices: [{ from: '2025-06-10', input: 20, output: 80 }],
    },
    {
      id: 'openai/o3-mini',
      provider: 'openai',
      model: 'o3-mini',
      aliases: ['o3-mini-2025-01-31'],
      source,
      prices: [{ from: '2025-01-31', input: 1.1, cachedInput: 0.55, output: 4.4 }],
    },
    {
      id: 'openai/o4-mini',
      provider: 'openai',
      model: 'o4-mini',
      aliases: ['o4-mini-2025-04-16'],
      source,
      prices: [{ from: '2025-04-16', input: 1.1, cachedInput: 0.275, output: 4.4 }],
    },
    {
      id: 'openai/o1',
      provider: 'openai',
      model: 'o1',
      aliases: ['o1-2024-12-17', 'o1-preview', 'o1-preview-2024-09-12'],
      source,
      prices: [{ from: '2024-09-12', input: 15, cachedInput: 7.5, output: 60 }],
    },
    {
      id: 'openai/o1-pro',
      provider: 'openai',
      model: 'o1-pro',
      aliases: ['o1-pro-2025-03-19'],
      source,
      prices: [{ from: '2025-03-19', input: 150, output: 600 }],
    },
    {
      id: 'openai/o1-mini',
      provider: 'openai',
      model: 'o1-mini',
      aliases: ['o1-mini-2024-09-12'],
      source,
      prices: [{ from: '2024-09-12', input: 1.1, cachedInput: 0.55, output: 4.4 }],
    },
    {
      // Codex's model on the Responses API (Codex CLI's default from its September 2025 release); checked 2026-12-06
      id: 'openai/gpt-5-codex',
      provider: 'openai',
      model: 'gpt-5-codex',
      source: 'https://developers.openai.com/api/docs/models/gpt-5-codex',
      prices: [{ from: '2025-09-23', input: 1.25, cachedInput: 0.125, output: 10 }],
    },
    {
      id: 'openai/codex-mini-latest',
      provider: 'openai',
      model: 'codex-mini-latest',
      source,
      prices: [{ from: '2025-05-16', input: 1.5, cachedInput: 0.375, output: 6 }],
    },
    {
      id: 'openai/gpt-4-turbo',
      provider: 'openai',
      model: 'gpt-4-turbo',
      aliases: ['gpt-4-turbo-2024-04-09', 'gpt-4-turbo-preview', 'gpt-4-0125-preview', 'gpt-4-1106-preview'],
      source,
      prices: [{ from: '2023-11-06', input: 10, output: 30 }],
    },
    {
      id: 'openai/gpt-4',
      provider: 'openai',
      model: 'gpt-4',
      aliases: ['gpt-4-0613'],
      source,
      prices: [{ from: '2023-03-14', input: 30, output: 60 }],
    },
    {
      id: 'openai/gpt-3.5-turbo',
      provider: 'openai',
      model: 'gpt-3.5-turbo',
      aliases: ['gpt-3.5-turbo-0125'],
      source,
      prices: [{ from: '2024-01-25', input: 0.5, output: 1.5 }],
    },
    {
      id: 'openai/gpt-3.5-turbo-instruct',
      provider: 'openai',
      model: 'gpt-3.5-turbo-instruct',
      aliases: ['gpt-3.5-turbo-instruct-0914'],
      source,
      prices: [{ from: '2023-09-14', input: 1.5, output: 2 }],
    },
    // Realtime and transcription models, billed by token with audio tokens at their own rates (text input, cached
    // input and output; then audio input, cached audio input, audio output). Checked 2026-12-05 against each model's
    // page (developers.openai.com/api/docs/models/<model>); the transcription models' audio input rates as OpenAI's
    // pricing page lists them (quoted by the openai-cookbook for gpt-4o-transcribe, $6; $3 for the mini one), their
    // model pages listing the text rates only. gpt-realtime-mini is left out: its audio rates could not be confirmed.
    {
      id: 'openai/gpt-realtime',
      provider: 'openai',
      model: 'gpt-realtime',
      aliases: ['gpt-realtime-2025-08-28'],
      source: 'https://developers.openai.com/api/docs/models/gpt-realtime',
      prices: [
        {
          from: '2025-08-28',
          input: 4,
          cachedInput: 0.4,
          output: 16,
          audioInput: 32,
          cachedAudioInput: 0.4,
          audioOutput: 64,
        },
      ],
    },
    {
      id: 'openai/gpt-4o-realtime-preview',
      provider: 'openai',
      model: 'gpt-4o-realtime-preview',
      aliases: ['gpt-4o-realtime-preview-2024-12-17', 'gpt-4o-realtime-preview-2025-06-03'],
      source: 'https://developers.openai.com/api/docs/models/gpt-4o-realtime-preview',
      prices: [
        {
          from: '2024-12-17',
          input: 5,
          cachedInput: 2.5,
          output: 20,
          audioInput: 40,
          cachedAudioInput: 2.5,
          audioOutput: 80,
        },
      ],
      note: 'Shut down by OpenAI. The 2024-10-01 snapshot billed audio higher ($100 / $200) and is priced here at the later rates.',
    },
    {
      id: 'openai/gpt-4o-mini-realtime-preview',
      provider: 'openai',
      model: 'gpt-4o-mini-realtime-preview',
      aliases: ['gpt-4o-mini-realtime-preview-2024-12-17'],
      source: 'https://developers.openai.com/api/docs/models/gpt-4o-mini-realtime-preview',
      prices: [
        {
          from: '2024-12-17',
          input: 0.6,
          cachedInput: 0.3,
          output: 2.4,
          audioInput: 10,
          cachedAudioInput: 0.3,
          audioOutput: 20,
        },
      ],
    },
    {
      id: 'openai/gpt-4o-transcribe',
      provider: 'openai',
      model: 'gpt-4o-transcribe',
      source: 'https://developers.openai.com/api/docs/models/gpt-4o-transcribe',
      prices: [{ from: '2025-03-20', input: 2.5, output: 10, audioInput: 6 }],
      note: 'Transcription (audio/transcriptions, Realtime input transcription): audio in, text (the transcript) out.',
    },
    {
      id: 'openai/gpt-4o-mini-transcribe',
      provider: 'openai',
      model: 'gpt-4o-mini-transcribe',
      source: 'https://developers.openai.com/api/docs/models/gpt-4o-mini-transcribe',
      prices: [{ from: '2025-03-20', input: 1.25, output: 5, audioInput: 3 }],
      note: 'Transcription (audio/transcriptions, Realtime input transcription): audio in, text (the transcript) out.',
    },
    // The GPT image models (images/generations and images/edits), billed by the tokens their answer's `usage` reports:
    // text input (cached), and image output tokens. Checked 2026-12-07 against each model's page. Image input tokens
    // (an edit's images) cost more than text ($10 / $2.50 per 1M, not $5 / $1.25): the usage's split is not priced
    // apart, so an edit's image input is priced at the text rate (under). DALL·E (per image), whisper-1 (per minute)
    // and tts-1 / tts-1-hd (per character) are priced per unit below.
    {
      id: 'openai/gpt-image-1',
      provider: 'openai',
      model: 'gpt-image-1',
      source: 'https://developers.openai.com/api/docs/models/gpt-image-1',
      prices: [{ from: '2025-04-23', input: 5, cachedInput: 1.25, output: 40 }],
      note: 'Image generation: text (and image) in, image tokens out. Retired by OpenAI on 2026-10-23.',
    },
    {
      id: 'openai/gpt-image-1-mini',
      provider: 'openai',
      model: 'gpt-image-1-mini',
      source: 'https://developers.openai.com/api/docs/models/gpt-image-1-mini',
      prices: [{ from: '2025-10-06', input: 2, cachedInput: 0.2, output: 8 }],
      note: 'Image generation: text (and image) in, image tokens out.',
    },
    // Priced per unit, not per token (their answers report no tokens; src/cost/units.ts), from OpenAI's pricing page
    // (checked 2026-12-07): DALL·E per image by quality and size, whisper-1 per minute of audio (billed by the second:
    // the answer's `usage.seconds`), tts-1 / tts-1-hd per 1M characters of the request's `input`. Their token prices
    // are 0: nothing of them is billed by the token.
    {
      id: 'openai/dall-e-3',
      provider: 'openai',
      model: 'dall-e-3',
      source,
      prices: [
        {
          from: '2023-11-06',
          input: 0,
          output: 0,
          perImage: {
            standard: { '1024x1024': 0.04, '1024x1792': 0.08, '1792x1024': 0.08 },
            hd: { '1024x1024': 0.08, '1024x1792': 0.12, '1792x1024': 0.12 },
          },
        },
      ],
      note: 'Image generation, per image by quality (standard, hd) and size.',
    },
    {
      id: 'openai/dall-e-2',
      provider: 'openai',
      model: 'dall-e-2',
      source,
      prices: [
        {
          from: '2022-11-03',
          input: 0,
          output: 0,
          perImage: { standard: { '256x256': 0.016, '512x512': 0.018, '1024x1024': 0.02 } },
        },
      ],
      note: 'Image generation, edits and variations, per image by size.',
    },
    {
      id: 'openai/whisper-1',
      provider: 'openai',
      model: 'whisper-1',
      source,
      prices: [{ from: '2023-03-01', input: 0, output: 0, perMinute: 0.006 }],
      note: 'Transcription and translation, per minute of audio, billed by the second.',
    },
    {
      id: 'openai/tts-1',
      provider: 'openai',
      model: 'tts-1',
      aliases: ['tts-1-1106'],
      source,
      prices: [{ from: '2023-11-06', input: 0, output: 0, perMillionCharacters: 15 }],
      note: 'Speech, per 1M characters of input text.',
    },
    {
      id: 'openai/tts-1-hd',
      provider: 'openai',
      model: 'tts-1-hd',
      aliases: ['tts-1-hd-1106'],
      source,
      prices: [{ from: '2023-11-06', input: 0, output: 0, perMillionCharacters: 30 }],
      note: 'Speech (high definition), per 1M characters of input text.',
    },
    {
      id: 'openai/text-embedding-3-small',
      provider: 'openai',
      model: 'text-embedding-3-small',
      kind: 'embedding',
      source,
      prices: [{ from: '2024-01-25', input: 0.02, output: 0 }],
    },
    {
      id: 'openai/text-embedding-3-large',
      provider: 'openai',
      model: 'text-embedding-3-large',
      kind: 'embedding',
      source,
      prices: [{ from: '2024-01-25', input: 0.13, output: 0 }],
    },
    {
      id: 'openai/text-embedding-ada-002',
      provider: 'openai',
      model: 'text-embedding-ada-002',
      kind: 'embedding',
      source,
      prices: [{ from: '2022-12-15', input: 0.1, output: 0 }],
    },
  ],
};
