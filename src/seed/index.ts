// Public face of seed/: the history generator and the store seeder (used by `npm run seed` and bench/ui.js).
export {
  incidentsOf,
  SEED_FEATURES,
  SEED_MODELS,
  SEED_TEAMS,
  type SeedPlan,
  seedCalls,
  trafficWeight,
} from './generate.js';
export { type SeedOptions, type SeedResult, seedStore } from './seed.js';
