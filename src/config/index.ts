// Public face of config/.
export * from './load.js';
export * from './schema.js';
