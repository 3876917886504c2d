// The pieces a text is given to gpt-tokenizer in, so that encoding it takes time linear in its length: BPE is
// quadratic in the length of one pre-tokenizer piece (100 KB of base64 took ~26 s), so runs of 129+ non-space (or
// space) characters are cut into 128-character slices; text without such runs is one piece, encoded whole (exact).
// llmscope's own counting (tokens.ts) and the simulator's (src/simulator/text.ts) both cut texts here, so they agree.

/** Longest run of non-space (or space) characters given to the tokenizer whole. */
const SLICE = 128;
/**
 * Capped: V8's regexp engine overflows its stack matching one run of millions of characters (a RangeError from 8 MB
 * of base64 on); a match at the cap is followed on by runEnd.
 */
const RUN_CAP = 65_536;
const LONG_RUN = /\S{129,65536}|\s{129,65536}/g;
const MORE_NON_SPACE = /\S{1,65536}/y;
const MORE_SPACE = /\s{1,65536}/y;

/** Where the run LONG_RUN found (`m`) ends, past the cap if it goes on; LONG_RUN then searches on from there. */
function runEnd(text: string, m: RegExpExecArray): number {
  let end = m.index + m[0].length;
  if (m[0].length < RUN_CAP) return end;
  const more = /\s/.test(m[0].charAt(0)) ? MORE_SPACE : MORE_NON_SPACE;
  for (;;) {
    more.lastIndex = end;
    const x = more.exec(text);
    if (x === null) break;
    end += x[0].length;
    if (x[0].length < RUN_CAP) break;
  }
  LONG_RUN.lastIndex = end;
  return end;
}

/**
 * Calls `piece(from, to)` for each piece of `text` in order: the text between long runs whole, each long run in
 * SLICE-character slices (a slice never ends between the two halves of a character outside the BMP). Nothing for an
 * empty text.
 */
export function forEachTokenPiece(text: string, piece: (from: number, to: number) => void): void {
  let at = 0;
  LONG_RUN.lastIndex = 0;
  for (let m = LONG_RUN.exec(text); m !== null; m = LONG_RUN.exec(text)) {
    if (m.index > at) piece(at, m.index);
    const end = runEnd(text, m);
    for (let k = m.index; k < end; ) {
      let cut = Math.min(k + SLICE, end);
      const c = text.charCodeAt(cut - 1);
      if (cut < end && c >= 0xd800 && c <= 0xdbff) cut++;
      piece(k, cut);
      k = cut;
    }
    at = end;
  }
  if (at < text.length) piece(at, text.length);
}
