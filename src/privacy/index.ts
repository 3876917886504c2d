// Public face of privacy/: redaction of personal data and secrets, and the enricher that applies it to each call.
export * from './enricher.js';
export * from './redact.js';
