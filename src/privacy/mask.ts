// privacy.maskUpstream: the prompt is redacted before it goes upstream, so the provider never receives the personal
// data and secrets the redactor finds. A gateway hook rewrites the parsed request body in place (every string in it,
// but for fields that are structure or binary payloads, not text a person wrote) and says so, so the gateway sends
// the re-serialized body instead of the client's bytes.
//
// The cost is on the hot path, before the upstream is called: one walk of the body, every redaction pattern over each
// string, and one JSON.stringify (see docs/privacy.md for measured figures). It also changes what the model sees:
// `[redacted-email]` in place of an address, which a task that needs the value (write to this address, check this
// IBAN) cannot do without.
import type { Admission, GatewayHook } from '../gateway/proxy.js';
import type { Redactor } from './redact.js';

/**
 * Keys whose string values are never rewritten: names of models, roles and types, ids the provider matches on, and
 * binary payloads (base64 images and files, URLs), where a chance match would corrupt the data.
 */
const KEEP = new Set([
  'model',
  'role',
  'type',
  'id',
  'tool_call_id',
  'tool_use_id',
  'call_id',
  'name',
  'finish_reason',
  'data',
  'audio',
  'url',
  'image_url',
  'file_data',
  'file_id',
  'mime_type',
  'mimeType',
  'media_type',
  'b64_json',
  'detail',
  'format',
  'encoding_format',
  'reasoning_effort',
  'service_tier',
  'tool_choice',
]);

type Json = unknown;

/** Redacts every string in `body` in place (but under KEEP keys); returns whether anything changed. */
export function maskBody(redactor: Redactor, body: Json): boolean {
  let changed = false;
  const walk = (v: Json, depth: number): Json => {
    if (typeof v === 'string') {
      const r = redactor.redact(v);
      if (r !== v) changed = true;
      return r;
    }
    if (depth > 64 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = walk(v[i], depth + 1);
      return v;
    }
    const o = v as Record<string, Json>;
    for (const k of Object.keys(o)) if (!KEEP.has(k)) o[k] = walk(o[k], depth + 1);
    return o;
  };
  walk(body, 0);
  return changed;
}

/** The gateway hook of `privacy.maskUpstream`: masks the admitted call's body before it is forwarded. */
export function maskUpstreamHook(redactor: Redactor): GatewayHook {
  return {
    name: 'privacy.maskUpstream',
    admit(a: Admission) {
      if (maskBody(redactor, a.body)) a.bodyChanged = true;
    },
  };
}
