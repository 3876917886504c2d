// Budgets' input estimate of a body nested deeper than JSON.stringify's stack reaches. JSON.parse takes
// [[[...1...]]] 5,000 deep, but the estimate serialized such a value (a tool's parameters, a tool result's part, a
// Responses tool output) and threw RangeError 'Maximum call stack size exceeded': with any budget configured the
// gateway answered 500 internal_error instead of passing the call on. Now it is counted without recursion.
import { describe, expect, it } from 'vitest';
import { estimateInputTokens, jsonChars, toolsJsonLength } from './budgets.js';

const deep = (depth: number) => JSON.parse(`${'['.repeat(depth)}1${']'.repeat(depth)}`) as unknown;

describe("budgets' estimate of deeply nested values", () => {
  it('counts a value too deep for JSON.stringify as JSON.stringify would, had it the stack', () => {
    const v = deep(50_000);
    expect(() => JSON.stringify(v)).toThrow(RangeError);
    expect(jsonChars(v)).toBe(100_001);
    expect(toolsJsonLength([{ type: 'function', function: { name: 'f', parameters: { x: v } } }])).toBe(
      JSON.stringify([{ type: 'function', function: { name: 'f', parameters: { x: 0 } } }]).length - 1 + 100_001,
    );
    // an object inside: {"a":[...]} and two members
    const o = JSON.parse(`{"a":${'['.repeat(20_000)}{"b":"xy","c":null}${']'.repeat(20_000)}}`) as unknown;
    expect(jsonChars(o)).toBe(6 + 40_000 + '{"b":"xy","c":null}'.length);
  });

  it('estimates chat tools, an Anthropic tool_use and a Responses tool output nested 20,000 deep', () => {
    const v = deep(20_000);
    const chat = {
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ type: 'function', function: { name: 'f', parameters: { x: v } } }],
    };
    expect(estimateInputTokens(chat, 'chat.completions')).toBeGreaterThan(40_000 / 3);
    const messages = {
      model: 'm',
      messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: { x: v } }] }],
    };
    expect(estimateInputTokens(messages, 'messages')).toBeGreaterThan(40_000 / 3);
    const responses = { model: 'm', input: [{ type: 'function_call_output', call_id: 'c', output: v }] };
    expect(estimateInputTokens(responses, 'responses')).toBeGreaterThan(40_000 / 3);
  });
});
