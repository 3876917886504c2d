// A query parameter a route needs and was not given reads 'required (a string), missing', as a body field does
// (QA27's missingIsRequired), not zod's 'Invalid input: expected string, received undefined' (QA33: GET
// /api/cost/prices without ?model= said that).
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseQuery } from './zod.js';

const schema = z.object({ model: z.string().min(1), provider: z.string().optional() });

function messageOf(query: string): string {
  try {
    parseQuery(schema, new URL(`http://x/api/cost/prices${query}`));
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('parsed');
}

describe('parseQuery: a missing required parameter', () => {
  it('is named as required and missing', () => {
    expect(messageOf('')).toBe('invalid query parameter "model": required (a string), missing');
    expect(messageOf('?model=&provider=openai')).toBe('invalid query parameter "model": required (a string), missing');
  });

  it('a given one still parses', () => {
    expect(parseQuery(schema, new URL('http://x/?model=gpt-4o'))).toEqual({ model: 'gpt-4o' });
  });
});
