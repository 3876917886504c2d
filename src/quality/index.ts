// Public face of quality/: the module factory, the config schema, the offline CLI, refusal detection, the
// evaluators and the store interface.
export { registerQualityRoutes } from './api.js';
export { baselineScore } from './baseline.js';
export { ChatClient, EVAL_FEATURE } from './chat-client.js';
export { registerQualityCommand } from './cli.js';
export { type JudgeConfig, type QualityConfig, qualityConfigSchema } from './config.js';
export * from './evaluators/index.js';
export { KnowledgeBase, type KnowledgeDocument, type Passage } from './knowledge.js';
export {
  buildQualityModule,
  createQualityModule,
  type QualityModule,
  type QualityModuleOptions,
} from './module.js';
export { classifyRefusal, detectRefusal, REFUSAL_HOOK, type RefusalVerdict, refusalEnricher } from './refusal.js';
export { createScorer, scoreFile } from './score.js';
export { QualityService } from './service.js';
export { balancedAccuracy, precisionRecall, rocAuc, wilson } from './stats.js';
export {
  MemoryQualityStore,
  PostgresQualityStore,
  QUALITY_MIGRATIONS,
  QUALITY_NAMESPACE,
  QUALITY_SCHEMA,
  type QualityStore,
  qualityStoreFor,
  SqliteQualityStore,
} from './storage/index.js';
