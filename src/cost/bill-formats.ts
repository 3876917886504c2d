// The bill formats, apart from the parsers: `llmscope reconcile`'s declaration names them without loading those.
export type BillFormat = 'openai' | 'anthropic' | 'generic';
export const BILL_FORMATS: readonly BillFormat[] = ['openai', 'anthropic', 'generic'];
