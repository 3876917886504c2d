// Reasoning streamed as `delta.reasoning` (OpenRouter, Groq, vLLM since it renamed reasoning_content) is output the
// model produced, as DeepSeek's `delta.reasoning_content` is: its first chunk is the first content (TTFT), and its
// text is output beside the answer (counted when usage is missing), once when a server sends both names.
import { describe, expect, it } from 'vitest';
import { chunkInfo, fastChunkInfo } from './index.js';

const chunk = (delta: unknown) =>
  JSON.stringify({
    id: 'gen-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'deepseek/deepseek-r1',
    choices: [{ index: 0, delta, finish_reason: null }],
  });
const read = (data: string) =>
  fastChunkInfo(data, 'chat.completions') ?? chunkInfo(JSON.parse(data), 'chat.completions');

describe('chat completions: reasoning deltas', () => {
  it('delta.reasoning is content, its text other output', () => {
    expect(read(chunk({ role: 'assistant', content: '', reasoning: 'Let me think' }))).toMatchObject({
      content: true,
      text: '',
      other: 'Let me think',
    });
    expect(chunkInfo(JSON.parse(chunk({ content: null, reasoning: 'step 2' })), 'chat.completions')).toMatchObject({
      content: true,
      other: 'step 2',
    });
  });

  it('both names with the same text count it once', () => {
    expect(read(chunk({ reasoning_content: 'hmm', reasoning: 'hmm' })).other).toBe('hmm');
  });
});
