import { describe, expect, it } from 'vitest';
import { displayWidth, formatTable, tableCell } from './table.js';

describe('the CLI tables', () => {
  it('measure a value in terminal columns, not UTF-16 units', () => {
    expect(displayWidth('search-prod')).toBe(11);
    expect(displayWidth('数据团队')).toBe(8);
    expect(displayWidth('한국어')).toBe(6);
    expect(displayWidth('e\u0301')).toBe(1); // e and a combining acute: one column, two code points
    expect(displayWidth('🔑')).toBe(2); // one emoji, two UTF-16 units
    expect(displayWidth('👩‍💻')).toBe(2); // a ZWJ sequence, five code points
    expect(displayWidth('a\u200bb')).toBe(2); // a zero-width space takes none
    expect(displayWidth('lsk_abcdefgh…')).toBe(13);
  });

  it('quote a cell that holds white space, a quote or an invisible character, and only those', () => {
    expect(tableCell('team bot')).toBe('"team bot"');
    expect(tableCell('tab\there')).toBe('"tab\\there"');
    expect(tableCell('say "hi"')).toBe('"say \\"hi\\""');
    expect(tableCell('a\u200bb')).toBe('"a\u200bb"');
    expect(tableCell('数据团队')).toBe('数据团队');
    expect(tableCell('gpt-4o-mini,claude-*')).toBe('gpt-4o-mini,claude-*');
  });

  it('line the columns up by display width, two spaces apart, no trailing blanks', () => {
    expect(
      formatTable([
        ['ID', 'NAME', 'SOURCE'],
        ['k1', '数据', 'store'],
        ['k2', 'team bot', 'config'],
      ]),
    ).toBe('ID  NAME        SOURCE\nk1  数据        store\nk2  "team bot"  config\n');
  });
});
