// Public face of providers/: protocol adapters. Only the OpenAI-compatible protocol for now.

export type { ChunkInfo, ResponseInfo, Usage } from './openai-compatible/index.js';
export * as openaiCompatible from './openai-compatible/index.js';
