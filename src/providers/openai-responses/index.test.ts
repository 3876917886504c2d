import { describe, expect, it } from 'vitest';
import { openaiResponsesAdapter, promptText, responseInfo, responsesStreamReader } from './index.js';

const read = (o: unknown) => responsesStreamReader.read(JSON.stringify(o));
const usage = {
  input_tokens: 100,
  input_tokens_details: { cached_tokens: 40 },
  output_tokens: 30,
  output_tokens_details: { reasoning_tokens: 20 },
};

describe('openai-responses adapter', () => {
  it('a compaction (POST /v1/responses/compact) is a call with its usage, sent to the upstream compact path', () => {
    const compacted = responseInfo({
      object: 'response.compaction',
      usage,
      output: [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'List the files.' }] },
        { type: 'compaction', encrypted_content: 'xyz' },
      ],
    });
    expect(compacted).toMatchObject({ text: '', finishReason: 'compacted', refusal: null });
    expect(compacted.usage).toMatchObject({ inputTokens: 100, outputTokens: 30, cachedInputTokens: 40 });
    const a = openaiResponsesAdapter;
    expect(a.routes['/v1/responses/compact']).toBe('responses');
    expect(a.upstreamPath('responses', '/v1/responses/compact', 'm')).toBe('/responses/compact');
    expect(a.upstreamPath('responses', '/v1/responses/compact?x=1', 'm')).toBe('/responses/compact?x=1');
    expect(a.upstreamPath('responses', '/v1/responses?x=1', 'm')).toBe('/responses?x=1');
  });

  it('reads usage with cached and reasoning tokens, and the status as finish reason', () => {
    const ok = responseInfo({
      status: 'completed',
      usage,
      output: [{ type: 'message', content: [{ type: 'output_text', text: 'hi' }] }],
    });
    expect(ok).toMatchObject({ text: 'hi', finishReason: 'stop', refusal: null });
    expect(ok.usage).toEqual({
      inputTokens: 100,
      outputTokens: 30,
      cachedInputTokens: 40,
      reasoningTokens: 20,
      cacheWriteInputTokens: 0,
    });
    expect(responseInfo({ status: 'completed', output: [{ type: 'function_call', name: 'f' }] }).finishReason).toBe(
      'tool_calls',
    );
    expect(
      responseInfo({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } }).finishReason,
    ).toBe('max_output_tokens');
    const failed = responseInfo({ status: 'failed', error: { code: 'server_error', message: 'x' } });
    expect(failed).toMatchObject({ finishReason: 'error', error: 'server_error' });
    // a background response is answered queued (or in progress), before anything is generated
    for (const status of ['queued', 'in_progress'])
      expect(responseInfo({ status, background: true, output: [], usage: null })).toMatchObject({
        finishReason: status,
        usage: null,
        text: '',
      });
    const refused = responseInfo({
      status: 'completed',
      output: [{ type: 'message', content: [{ type: 'refusal', refusal: 'No.' }] }],
    });
    expect(refused.refusal).toBe('No.');
  });

  it('meters the stream: text deltas, tool arguments, the final event, failures and error events', () => {
    expect(read({ type: 'response.output_text.delta', delta: 'He' })).toMatchObject({ text: 'He', content: true });
    expect(read({ type: 'response.function_call_arguments.delta', delta: '{' })?.content).toBe(true);
    expect(read({ type: 'response.created', response: { status: 'in_progress' } })).toMatchObject({
      content: false,
      usage: null,
    });
    expect(read({ type: 'response.completed', response: { status: 'completed', usage, output: [] } })).toMatchObject({
      finishReason: 'stop',
      usage: { outputTokens: 30, reasoningTokens: 20 },
    });
    expect(
      read({ type: 'response.failed', response: { status: 'failed', error: { code: 'rate_limit_exceeded' } } })?.error,
    ).toBe('rate_limit_exceeded');
    expect(read({ type: 'error', code: 'server_error', message: 'x' })?.error).toBe('server_error');
    // the API's own error events nest the error (as its HTTP errors do), though its reference shows it flat
    expect(
      read({
        type: 'error',
        sequence_number: 2,
        error: {
          type: 'insufficient_quota',
          code: 'credit_balance_exhausted',
          message: 'No credits left.',
          param: null,
        },
      }),
    ).toMatchObject({ error: 'insufficient_quota', errorMessage: 'No credits left.' });
    expect(responsesStreamReader.read('[DONE')).toBeNull();
  });

  it('marks a rate limit in a stream (error event, flat or nested; response.failed) as one, not other failures', () => {
    expect(read({ type: 'error', code: 'rate_limit_exceeded', message: 'slow down' })?.rateLimited).toBe(true);
    expect(
      read({ type: 'error', error: { type: 'tokens', code: 'rate_limit_exceeded', message: 'Rate limit reached' } }),
    ).toMatchObject({ error: 'tokens', rateLimited: true });
    expect(
      read({ type: 'response.failed', response: { status: 'failed', error: { code: 'rate_limit_exceeded' } } })
        ?.rateLimited,
    ).toBe(true);
    expect(responseInfo({ status: 'failed', error: { code: 'rate_limit_exceeded' } }).rateLimited).toBe(true);
    expect(read({ type: 'error', code: 'server_error', message: 'x' })?.rateLimited).toBeFalsy();
    expect(read({ type: 'error', error: { type: 'insufficient_quota', code: 'x' } })?.rateLimited).toBeFalsy();
  });

  it('reads instructions and input items (text parts, tool outputs), marking assistant turns', () => {
    const ranges: number[] = [];
    const text = promptText(
      {
        instructions: 'Be brief.',
        input: [
          { role: 'user', content: [{ type: 'input_text', text: 'Q' }] },
          { role: 'assistant', content: [{ type: 'output_text', text: 'A' }] },
          { type: 'function_call_output', call_id: 'c', output: 'out' },
        ],
      },
      'responses',
      ranges,
    );
    expect(text).toBe('Be brief.\nQ\nA\nout\n');
    expect(ranges).toEqual([12, 14]);
    expect(promptText({ input: 'just text' }, 'responses')).toBe('just text');
  });

  it("reads the model's earlier tool calls (name and arguments, a custom tool's input) as its own turns", () => {
    const ranges: number[] = [];
    const text = promptText(
      {
        input: [
          { type: 'function_call', call_id: 'a', name: 'shell', arguments: '{"cmd":"ls"}' },
          { type: 'function_call_output', call_id: 'a', output: 'x.ts' },
          { type: 'custom_tool_call', call_id: 'b', name: 'apply_patch', input: '*** Begin Patch' },
          { type: 'custom_tool_call_output', call_id: 'b', output: 'Done' },
        ],
      },
      'responses',
      ranges,
    );
    expect(text).toBe('shell\n{"cmd":"ls"}\nx.ts\napply_patch\n*** Begin Patch\nDone\n');
    expect(ranges).toEqual([0, 19, 24, 52]);
  });

  it('a tool the API ran itself (web search, file search, code interpreter, MCP) is no tool call for the client', () => {
    const answer = { type: 'message', content: [{ type: 'output_text', text: 'It is sunny.' }] };
    for (const hosted of [
      'web_search_call',
      'file_search_call',
      'code_interpreter_call',
      'image_generation_call',
      'mcp_call',
    ])
      expect(
        responseInfo({ status: 'completed', output: [{ type: hosted, id: 'x', status: 'completed' }, answer] })
          .finishReason,
        hosted,
      ).toBe('stop');
    // the tools the client runs: the response waits for their output
    for (const client of ['function_call', 'custom_tool_call', 'computer_call', 'local_shell_call', 'shell_call'])
      expect(responseInfo({ status: 'completed', output: [{ type: client, call_id: 'c' }] }).finishReason, client).toBe(
        'tool_calls',
      );
    // and so in a stream's response.completed
    const done = read({
      type: 'response.completed',
      response: { status: 'completed', output: [{ type: 'web_search_call', id: 'ws', status: 'completed' }, answer] },
    });
    expect(done?.finishReason).toBe('stop');
  });
});
