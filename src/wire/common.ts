// Building blocks of the wire shapes: times as ISO 8601 strings, days, and the counters every body shares.
import { z } from 'zod';

/** An instant as ISO 8601 with `Z` (what `Date.prototype.toISOString` writes). */
export const isoTime = z.iso.datetime();
/** A UTC day, `YYYY-MM-DD`. */
export const isoDay = z.iso.date();
/** A value that may be missing from the data (rates without a denominator, quantiles without samples). */
export const maybe = <T extends z.ZodType>(t: T) => t.nullable();
export const count = z.number().int().nonnegative();
/** Attribute values of spans and events. */
export const attributeValue = z.union([z.string(), z.number(), z.boolean()]);
