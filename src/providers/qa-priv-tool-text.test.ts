// The prompt text of a call is what capture-off error scrubbing, captured content, grounding evidence and the
// tokenizer (a stream cut before usage) read. Chat completions and the Responses API put the model's earlier tool
// calls (name, arguments) and the tool results sent back in it; Anthropic's Messages left out a tool_use block's
// input, and Gemini both a functionCall's args and a functionResponse's response, so an upstream error quoting a tool
// result kept its words with capture off (docs/privacy.md: no word of the call's text is kept in its error message).
import { describe, expect, it } from 'vitest';
import { scrubErrorMessage } from '../privacy/error-message.js';
import { promptText as anthropicPrompt } from './anthropic/index.js';
import { promptText as geminiPrompt } from './gemini/index.js';

describe('prompt text: tool calls and tool results', () => {
  it('Gemini: a functionCall’s args and a functionResponse’s response, the call among the model’s turns', () => {
    const assistant: number[] = [];
    const text = geminiPrompt(
      {
        systemInstruction: { parts: [{ text: 'Be brief.' }] },
        contents: [
          { role: 'user', parts: [{ text: 'Who painted it?' }] },
          { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { bridge: 'Zorvath', span: 412 } } }] },
          {
            role: 'user',
            parts: [
              { functionResponse: { name: 'lookup', response: { painter: 'Brontevale', tags: ['marrowlight'] } } },
            ],
          },
        ],
      },
      'generate_content',
      assistant,
    );
    for (const w of ['Be brief.', 'Who painted it?', 'Zorvath', 'Brontevale', 'marrowlight']) expect(text).toContain(w);
    expect(text.slice(assistant[0], assistant[1])).toContain('Zorvath');
    expect(text.slice(assistant[0], assistant[1])).not.toContain('Brontevale');
    expect(scrubErrorMessage('Invalid value Brontevale in function response', [text])).toBe(
      'Invalid value … in function response',
    );
  });

  it('Anthropic: a tool_use block’s input beside the tool_result already read', () => {
    const assistant: number[] = [];
    const text = anthropicPrompt(
      {
        messages: [
          { role: 'user', content: 'Who painted it?' },
          {
            role: 'assistant',
            content: [
              { type: 'tool_use', id: 't1', name: 'lookup', input: { bridge: 'Zorvath', nested: ['Tessaridge'] } },
            ],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'Brontevale' }] },
        ],
      },
      'messages',
      assistant,
    );
    for (const w of ['Who painted it?', 'Zorvath', 'Tessaridge', 'Brontevale']) expect(text).toContain(w);
    expect(text.slice(assistant[0], assistant[1])).toContain('Zorvath');
  });
});
