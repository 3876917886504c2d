// Plain-text tables for the commands' listings: each cell one token, its columns lined up on a terminal whatever a
// value holds (a space, a wide character, an emoji, an invisible one).

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** East Asian Wide and Fullwidth code points (Unicode's EastAsianWidth.txt, W and F): two columns on a terminal. */
function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) || // Hangul Jamo
    cp === 0x2329 ||
    cp === 0x232a ||
    (cp >= 0x2e80 && cp <= 0x303e) || // CJK radicals .. CJK symbols and punctuation
    (cp >= 0x3041 && cp <= 0x33ff) || // Hiragana .. CJK compatibility
    (cp >= 0x3400 && cp <= 0x4dbf) || // CJK extension A
    (cp >= 0x4e00 && cp <= 0x9fff) || // CJK unified ideographs
    (cp >= 0xa000 && cp <= 0xa4cf) || // Yi
    (cp >= 0xa960 && cp <= 0xa97f) || // Hangul Jamo extended-A
    (cp >= 0xac00 && cp <= 0xd7a3) || // Hangul syllables
    (cp >= 0xf900 && cp <= 0xfaff) || // CJK compatibility ideographs
    (cp >= 0xfe10 && cp <= 0xfe19) || // vertical forms
    (cp >= 0xfe30 && cp <= 0xfe6f) || // CJK compatibility forms, small form variants
    (cp >= 0xff00 && cp <= 0xff60) || // fullwidth forms
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1b000 && cp <= 0x1b2ff) || // kana supplement and extensions
    (cp >= 0x1f200 && cp <= 0x1f2ff) || // enclosed ideographic supplement
    (cp >= 0x20000 && cp <= 0x3fffd) // CJK extensions B and later
  );
}

/** How many terminal columns `s` takes: a grapheme (a letter with its accents, an emoji sequence) is one or two. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const { segment } of graphemes.segment(s)) {
    const cp = segment.codePointAt(0) ?? 0;
    if (/^[\p{Cc}\p{Cf}\p{Mn}\p{Me}]/u.test(segment)) continue; // zero width: a control or format character (U+200B), a lone combining mark
    w += isWide(cp) || /\p{Emoji_Presentation}|\uFE0F/u.test(segment) ? 2 : 1;
  }
  return w;
}

/**
 * A cell as one token: a value with white space, a quote, a backslash or an invisible character is shown
 * JSON-quoted (`"team bot"`), as `ls` quotes such a file name, so a reader (or `awk`) sees where it ends.
 */
export function tableCell(v: string): string {
  return /[\s"'\\\p{C}]/u.test(v) ? JSON.stringify(v) : v;
}

/** `rows` (the first the header) as lines, the columns two spaces apart and lined up by display width. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const cells = rows.map((r) => r.map(tableCell));
  const widths: number[] = [];
  for (const r of cells) for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, displayWidth(c));
  return cells
    .map(
      (r) =>
        `${r
          .map((c, i) => c + ' '.repeat((widths[i] ?? 0) - displayWidth(c)))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}
