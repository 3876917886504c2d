// What a call's `endpoint` and `status` may be on the wire: the zod schema of a call (calls.ts) and the dashboard's
// filters (src/ui/pages) read these lists, so a new wire format or status is added here once. No zod here: the
// dashboard's bundle imports this file and should not carry the schemas. (calls/call.ts keeps the server's own
// typed lists; calls/wire-lists.test.ts checks they match.)
export const WIRE_ENDPOINTS = [
  'chat.completions',
  'completions',
  'embeddings',
  'messages',
  'responses',
  'generate_content',
  'realtime',
  'images.generations',
  'images.edits',
  'images.variations',
  'audio.speech',
  'audio.transcriptions',
  'audio.translations',
  'batches',
] as const;

export const WIRE_STATUSES = ['ok', 'client_error', 'upstream_error', 'rate_limited', 'timeout', 'cancelled'] as const;
