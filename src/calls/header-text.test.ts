import { describe, expect, it } from 'vitest';
import { headerText } from './header-text.js';

const asNodeReadsIt = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

describe('headerText', () => {
  it('decodes UTF-8 bytes Node read as latin1, keeps ASCII and non-UTF-8 values as they are', () => {
    expect(headerText(asNodeReadsIt('fé'))).toBe('fé');
    expect(headerText(asNodeReadsIt('équipe-日本-🚀'))).toBe('équipe-日本-🚀');
    expect(headerText('alice')).toBe('alice');
    expect(headerText('')).toBe('');
    expect(headerText('caf\xe9')).toBe('caf\xe9'); // latin1 é alone is not UTF-8
    expect(headerText('日本')).toBe('日本'); // already text
  });
});
