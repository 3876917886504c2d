import { describe, expect, it } from 'vitest';
import { CAPTURE_OFF_ERROR_CHARS, scrubErrorMessage } from './error-message.js';

const PROMPT = 'Please summarise the Zorvath bridge report for Tessaridge council, it is 412 metres long.';

describe('scrubErrorMessage (capture off)', () => {
  it('elides quoted spans and every word of the call, keeps the upstream’s own words', () => {
    const msg =
      "Invalid value for 'messages[0].content': the Zorvath bridge report for Tessaridge council is flagged by the content policy.";
    const out = scrubErrorMessage(msg, [PROMPT, null]) as string;
    for (const w of ['Zorvath', 'Tessaridge', 'council', 'bridge', 'report']) expect(out).not.toContain(w);
    // The quoted parameter path says where the input was wrong, not what it held: it stays.
    expect(out).toContain("Invalid value for 'messages[0].content':");
    expect(out).toContain('flagged');
    expect(out).toContain('content policy');
    // Words are compared case-insensitively, and a word of the answer goes too.
    expect(scrubErrorMessage('ZORVATH rejected: marrowlight', [PROMPT, 'painted in marrowlight'])).toBe(
      '… rejected: …',
    );
  });

  it('a quoted parameter name stays only when the call’s text is known and lacks its words', () => {
    expect(scrubErrorMessage("Invalid 'user': bad value", [PROMPT])).toBe("Invalid 'user': bad value");
    expect(scrubErrorMessage('Unknown parameter: `tools[2].function.name`.', [PROMPT])).toBe(
      'Unknown parameter: `tools[2].function.name`.',
    );
    // A one-word quote that is the call's own word, or any quote with a space in it, goes.
    expect(scrubErrorMessage("Invalid value 'Zorvath'", [PROMPT])).toBe("Invalid value '…'");
    expect(scrubErrorMessage("Invalid value 'bridge report'", ['something else'])).toBe('Invalid value "…"');
    // The call's text unknown: every quote goes.
    expect(scrubErrorMessage("Invalid 'user': bad value", [])).toBe('Invalid "…": bad value');
  });

  it('keeps a message that quotes nothing of the call, and apostrophes are not quotes', () => {
    const msg = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.";
    expect(scrubErrorMessage(msg, ['hello there'])).toBe(msg);
  });

  it('quotes go even when the call’s text is not known; long messages are clipped', () => {
    expect(scrubErrorMessage('Bad input "my secret plan" at position 3', [])).toBe('Bad input "…" at position 3');
    expect(scrubErrorMessage('“secret” and `other`, «third» or "4th"!', [])).toBe('"…"!');
    expect(scrubErrorMessage('Unknown “secret”; expected `name`', [])).toBe('Unknown "…"; expected "…"');
    const long = scrubErrorMessage('x '.repeat(400), []) as string;
    expect(long.length).toBe(CAPTURE_OFF_ERROR_CHARS);
    expect(long.endsWith('…')).toBe(true);
    expect(scrubErrorMessage('"all quoted"', [])).toBe('"…"');
    expect(scrubErrorMessage('Zorvath', [PROMPT])).toBe('…');
  });
});
