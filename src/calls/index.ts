// Public face of calls/: the LlmCall record, its wire form, definitions and the recorder.
export * from './call.js';
export * from './recorder.js';
