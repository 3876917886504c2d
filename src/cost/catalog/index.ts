// The built-in price catalog: every provider file, in one list.
import { anthropicCatalog } from './anthropic.js';
import { bedrockCatalog } from './bedrock.js';
import { deepseekCatalog } from './deepseek.js';
import { googleCatalog } from './google.js';
import { mistralCatalog } from './mistral.js';
import { openModelsCatalog } from './open-models.js';
import { openaiCatalog } from './openai.js';
import type { CatalogEntry, CatalogFile } from './types.js';

export type { CatalogEntry, CatalogFile, PriceTier, PriceVersion, ServiceTierPrice } from './types.js';

export const CATALOG_FILES: readonly CatalogFile[] = [
  openaiCatalog,
  anthropicCatalog,
  googleCatalog,
  mistralCatalog,
  deepseekCatalog,
  openModelsCatalog,
  bedrockCatalog,
];

export const CATALOG: readonly CatalogEntry[] = CATALOG_FILES.flatMap((f) => f.entries);
