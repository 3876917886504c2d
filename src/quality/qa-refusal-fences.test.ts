import { describe, expect, it } from 'vitest';
import { classifyRefusal } from './refusal.js';

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
