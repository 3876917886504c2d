import { describe, expect, it } from 'vitest';
import { classifyRefusal, detectRefusal } from './refusal.js';

describe('classifyRefusal: code the model shows', () => {
  it('does not take a refusal shown in a ~~~ code block (CommonMark tilde fence) for the model declining', () => {
    // Backtick fences were removed before the rules ran; tilde fences were not, so these were refusals.
    const shown = [
      "~~~\nI'm sorry, but I can't help with that.\n~~~\nAbove is the template for the bot's fallback reply.",
      '~~~text\nI cannot assist with that request.\n~~~\n\nUse it as the canned answer in your moderation flow.',
    ];
    for (const t of shown) expect(classifyRefusal(t).refusal, t).toBe(false);
    // A refusal outside the fence still counts.
    expect(classifyRefusal("~~~\nhello\n~~~\nI'm sorry, but I can't help with that.").refusal).toBe(true);
  });
});

describe('classifyRefusal: an answer that is one fenced block', () => {
  it('is read in linear time when the block never closes after a long run of blanks', () => {
    // The sole-fence pattern was quadratic on blanks after an opening fence: this 49 KB answer stalled the recording
    // process's event loop for 10 s (detectRefusal 13 s); the test's own timeout is the guard.
    for (const s of [
      `\`\`\`\nThe script won't stop on errors:${' '.repeat(49_000)}x`,
      `\`\`\`bash\nset -e won't help${'\t'.repeat(49_000)}done`,
      `~~~\nI can't${' '.repeat(49_000)}\`\`\`x`,
    ])
      expect(detectRefusal({ text: s }).refusal).toBe(false);
    // and a sole block still reads as its inside, blanks before the closing fence or not
    expect(classifyRefusal("```\nI'm sorry, but I can't help with that.   \n  ```  \n").refusal).toBe(true);
    expect(classifyRefusal("~~~text\nCan't help with that.~~~").refusal).toBe(true);
    expect(classifyRefusal('```python\nprint("I can\'t help with that.")\n```').refusal).toBe(false);
  });
});
