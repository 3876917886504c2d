// Public face of calls/: the LlmCall record, its wire form, definitions and the recorder.
export * from './call.js';
export * from './metadata.js';
export * from './recent-ids.js';
export * from './recorder.js';
