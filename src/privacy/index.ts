// Public face of privacy/: redaction of personal data and secrets, the enricher that applies it to each call, and
// masking the prompt before it goes upstream (privacy.maskUpstream), and the erase of one user's data.
export * from './enricher.js';
export * from './erase.js';
export * from './error-message.js';
export * from './mask.js';
export * from './redact.js';
