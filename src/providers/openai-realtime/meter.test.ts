// The Realtime meter on hand-written frames: the type read off a frame's first bytes; a response's times from the
// client's response.create (or its response.created) to its first and last output delta and response.done; usage with
// cached and audio tokens; two responses at once told apart by their response_id; a refused response.create dropped;
// frames that are not type-first still read; a response the socket's end cut reported open.
import { describe, expect, it } from 'vitest';
import {
  audioDeltaBytes,
  deltaOf,
  frameType,
  OUTPUT_AUDIO_TOKENS_PER_SECOND,
  RealtimeMeter,
  type RealtimeResponse,
} from './meter.js';

const f = (o: unknown) => Buffer.from(JSON.stringify(o));

function meter(model: string | null = 'gpt-realtime') {
  const out: RealtimeResponse[] = [];
  const created: string[] = [];
  const m = new RealtimeMeter(model, (r) => out.push(r));
  m.onCreated = (id) => created.push(id);
  return { m, out, created };
}

const usage = {
  total_tokens: 150,
  input_tokens: 100,
  output_tokens: 50,
  input_token_details: {
    text_tokens: 20,
    audio_tokens: 80,
    cached_tokens: 64,
    cached_tokens_details: { text_tokens: 0, audio_tokens: 64 },
  },
  output_token_details: { text_tokens: 10, audio_tokens: 40 },
};

describe('realtime meter', () => {
  it('reads the type off the first bytes only when the frame starts with it', () => {
    expect(frameType(f({ type: 'response.output_audio.delta', delta: 'AAAA' }))).toBe('response.output_audio.delta');
    expect(frameType(f({ event_id: 'e', type: 'response.done' }))).toBeNull();
    expect(frameType(Buffer.from('{"type":"a\\"b","x":1}'))).toBeNull();
  });

  it('times a response from the client response.create to its output, with usage and audio parts', () => {
    const { m, out, created } = meter(null);
    m.server(
      f({ type: 'session.created', event_id: 'e1', session: { id: 'sess_1', model: 'gpt-realtime-mini' } }),
      false,
      0,
    );
    m.client(
      f({
        type: 'conversation.item.create',
        item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi' }] },
      }),
      false,
      5,
    );
    m.client(f({ type: 'response.create', event_id: 'c1' }), false, 10);
    m.server(f({ type: 'response.created', response: { id: 'resp_1', status: 'in_progress' } }), false, 12);
    m.server(f({ type: 'response.output_audio.delta', response_id: 'resp_1', delta: 'AAAA' }), false, 40);
    m.server(f({ type: 'response.output_audio_transcript.delta', response_id: 'resp_1', delta: 'Hel' }), false, 41);
    m.server(f({ type: 'response.output_audio.delta', response_id: 'resp_1', delta: 'BBBB' }), false, 90);
    m.server(
      f({
        type: 'response.done',
        response: {
          id: 'resp_1',
          status: 'completed',
          output: [{ type: 'message', content: [{ type: 'output_audio', transcript: 'Hello' }] }],
          usage,
        },
      }),
      false,
      100,
    );
    expect(created).toEqual(['resp_1']);
    expect(m.sessionId).toBe('sess_1');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      responseId: 'resp_1',
      model: 'gpt-realtime-mini',
      status: 'completed',
      startedAt: 10,
      createdAt: 12,
      firstOutputAt: 40,
      lastOutputAt: 90,
      doneAt: 100,
      outputText: 'Hello',
      promptText: 'Hi',
      usage: { inputTokens: 100, outputTokens: 50, cachedInputTokens: 64 },
      audio: { input: 80, cachedInput: 64, output: 40 },
    });
  });

  it('counts a function_call as a tool call, not an mcp_call (run by OpenAI, its result in the output)', () => {
    const { m, out } = meter();
    const done = (id: string, output: unknown[]) => {
      m.client(f({ type: 'response.create' }), false, 1);
      m.server(f({ type: 'response.created', response: { id, status: 'in_progress' } }), false, 2);
      m.server(f({ type: 'response.done', response: { id, status: 'completed', output, usage } }), false, 3);
    };
    done('resp_mcp', [
      { type: 'mcp_call', name: 'search', arguments: '{}', output: 'found', server_label: 'docs' },
      { type: 'message', content: [{ type: 'output_text', text: 'Here it is' }] },
    ]);
    done('resp_fn', [{ type: 'function_call', name: 'get_weather', call_id: 'c1', arguments: '{}' }]);
    expect(out.map((r) => [r.responseId, r.toolCall])).toEqual([
      ['resp_mcp', false],
      ['resp_fn', true],
    ]);
  });

  it('tells two responses apart by response_id; a response.create refused by an error is dropped', () => {
    const { m, out } = meter();
    m.client(f({ type: 'response.create', event_id: 'refused' }), false, 1);
    m.server(
      f({ type: 'error', error: { code: 'conversation_already_has_active_response', event_id: 'refused' } }),
      false,
      2,
    );
    m.client(f({ type: 'response.create', event_id: 'a' }), false, 10);
    m.server(f({ type: 'response.created', response: { id: 'resp_a' } }), false, 11);
    m.client(f({ type: 'response.create', event_id: 'b', response: { conversation: 'none' } }), false, 20);
    m.server(f({ type: 'response.created', response: { id: 'resp_b' } }), false, 21);
    m.server(f({ type: 'response.output_text.delta', response_id: 'resp_b', delta: 'x' }), false, 30);
    m.server(f({ type: 'response.output_text.delta', response_id: 'resp_a', delta: 'y' }), false, 35);
    m.server(f({ type: 'response.text.delta', response_id: 'resp_a', delta: 'z' }), false, 36);
    m.server(
      f({
        type: 'response.done',
        response: {
          id: 'resp_b',
          status: 'cancelled',
          status_details: { type: 'cancelled', reason: 'client_cancelled' },
        },
      }),
      false,
      40,
    );
    m.server(
      f({
        event_id: 'late',
        type: 'response.done',
        response: {
          id: 'resp_a',
          status: 'failed',
          status_details: { type: 'failed', error: { type: 'server_error', code: 'boom', message: 'it broke' } },
        },
      }),
      false,
      50,
    );
    expect(out.map((r) => [r.responseId, r.status, r.startedAt, r.firstOutputAt, r.lastOutputAt])).toEqual([
      ['resp_b', 'cancelled', 20, 30, 30],
      ['resp_a', 'failed', 10, 35, 36],
    ]);
    expect(out[0]?.reason).toBe('client_cancelled');
    expect(out[1]).toMatchObject({ errorType: 'boom', errorMessage: 'it broke', usage: null });
  });

  it('a response the server started itself is timed from its response.created; one cut by the end is reported open', () => {
    const { m, out } = meter();
    m.server(f({ type: 'response.created', response: { id: 'resp_vad' } }), false, 100);
    m.server(f({ type: 'response.output_audio.delta', delta: 'AAAA' }), false, 130);
    m.server(Buffer.from('not json'), false, 131);
    m.server(Buffer.from([1, 2, 3]), true, 132);
    m.end(200);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      responseId: 'resp_vad',
      status: 'open',
      startedAt: 100,
      firstOutputAt: 130,
      doneAt: 200,
    });
  });

  it('reports each completed input audio transcription with the session transcription model and its usage', () => {
    const { m, out, created } = meter();
    m.server(
      f({
        type: 'session.updated',
        session: {
          id: 'sess_1',
          model: 'gpt-realtime',
          audio: { input: { transcription: { model: 'gpt-4o-transcribe' } } },
        },
      }),
      false,
      0,
    );
    m.server(f({ type: 'input_audio_buffer.committed', item_id: 'item_1' }), false, 10);
    m.server(
      f({
        type: 'conversation.item.input_audio_transcription.completed',
        item_id: 'item_1',
        transcript: 'Hello there',
        usage: {
          type: 'tokens',
          input_tokens: 14,
          input_token_details: { text_tokens: 4, audio_tokens: 10 },
          output_tokens: 3,
          total_tokens: 17,
        },
      }),
      false,
      60,
    );
    // beta transcription session, whisper-1 billed by duration
    m.server(
      f({ type: 'transcription_session.updated', session: { input_audio_transcription: { model: 'whisper-1' } } }),
      false,
      70,
    );
    m.server(
      f({
        type: 'conversation.item.input_audio_transcription.completed',
        item_id: 'item_2',
        transcript: 'Bye',
        usage: { type: 'duration', seconds: 1.5 },
      }),
      false,
      80,
    );
    expect(created).toEqual(['item_1', 'item_2']);
    expect(out[0]).toMatchObject({
      responseId: 'item_1',
      model: 'gpt-4o-transcribe',
      status: 'completed',
      usage: { inputTokens: 14, outputTokens: 3, cachedInputTokens: 0 },
      audio: { input: 10, cachedInput: 0, output: 0 },
      transcription: { seconds: null },
      startedAt: 10,
      doneAt: 60,
      outputText: 'Hello there',
    });
    expect(out[1]).toMatchObject({
      responseId: 'item_2',
      model: 'whisper-1',
      usage: null,
      audio: null,
      transcription: { seconds: 1.5 },
      startedAt: 80,
    });
  });

  it('reads a delta string off the frame, escapes decoded', () => {
    expect(deltaOf(f({ type: 'response.output_text.delta', response_id: 'r', delta: 'plain' }))).toBe('plain');
    const odd = 'say "hi"\\ \n é 😀';
    expect(deltaOf(f({ type: 'response.output_text.delta', response_id: 'r', delta: odd }))).toBe(odd);
    expect(deltaOf(f({ type: 'response.output_text.delta', delta: '' }))).toBe('');
    expect(deltaOf(Buffer.from('{"type":"response.output_text.delta","delta":"cut'))).toBeNull();
  });

  it('reports a response the socket cut with the text and arguments its deltas streamed, and its audio apart', () => {
    const { m, out } = meter();
    m.client(f({ type: 'response.create' }), false, 0);
    m.server(f({ type: 'response.created', response: { id: 'resp_1', status: 'in_progress' } }), false, 1);
    m.server(f({ type: 'response.output_text.delta', response_id: 'resp_1', delta: 'Hello, ' }), false, 2);
    m.server(f({ type: 'response.output_audio.delta', response_id: 'resp_1', delta: 'QUFBQQ==' }), false, 3);
    m.server(f({ type: 'response.output_audio_transcript.delta', response_id: 'resp_1', delta: '"world"' }), false, 4);
    m.server(f({ type: 'response.function_call_arguments.delta', response_id: 'resp_1', delta: '{"city":' }), false, 5);
    m.end(10);
    expect(out[0]).toMatchObject({
      status: 'open',
      usage: null,
      outputText: 'Hello, "world"',
      otherOutputText: '{"city":',
      otherOutputChars: 8,
      // 'AAAA' (3 bytes of PCM16 24 kHz: 1/16 ms) is one output audio token, never text
      audio: { input: 0, cachedInput: 0, output: 1 },
    });
    expect(out[0]?.outputChars).toBeUndefined();
  });

  it("counts a cut response's audio as 1 output token per 50 ms of it, in the session's output format", () => {
    // OpenAI's rate for the model's audio ('Managing costs' in the Realtime guide)
    expect(OUTPUT_AUDIO_TOKENS_PER_SECOND).toBe(20);
    const audio = (bytes: number) => Buffer.alloc(bytes, 7).toString('base64');
    const cut = (session: unknown, deltas: string[], type = 'response.output_audio.delta') => {
      const { m, out } = meter();
      if (session) m.server(f({ type: 'session.updated', session }), false, 0);
      m.server(f({ type: 'response.created', response: { id: 'resp_1' } }), false, 1);
      for (const d of deltas) m.server(f({ type, response_id: 'resp_1', delta: d }), false, 2);
      m.end(3);
      return out[0]?.audio?.output;
    };
    // PCM16 at 24 kHz (the default): 48,000 bytes a second; 2.5 s in 50 deltas of 2,400 bytes = 50 tokens
    expect(
      cut(
        null,
        Array.from({ length: 50 }, () => audio(2_400)),
      ),
    ).toBe(50);
    expect(cut({ audio: { output: { format: { type: 'audio/pcm', rate: 24_000 } } } }, [audio(48_000)])).toBe(20);
    // G.711 (8,000 bytes a second), GA and beta names, and the beta's delta event
    expect(cut({ audio: { output: { format: { type: 'audio/pcmu' } } } }, [audio(8_000), audio(4_000)])).toBe(30);
    expect(cut({ output_audio_format: 'g711_alaw' }, [audio(800)], 'response.audio.delta')).toBe(2);
    expect(cut({ output_audio_format: 'pcm16' }, [audio(4_800)], 'response.audio.delta')).toBe(2);
    // a part of 50 ms counts as one; no audio, no audio part
    expect(cut(null, [audio(100)])).toBe(1);
    expect(cut(null, [])).toBeUndefined();
    // a response that was done reports its usage's audio, not a count of its bytes
    const { m, out } = meter();
    m.server(f({ type: 'response.created', response: { id: 'resp_2' } }), false, 1);
    m.server(f({ type: 'response.output_audio.delta', response_id: 'resp_2', delta: audio(48_000) }), false, 2);
    m.server(f({ type: 'response.done', response: { id: 'resp_2', status: 'completed', usage } }), false, 3);
    m.end(4);
    expect(out.map((r) => r.audio?.output)).toEqual([40]);
  });

  it("measures an audio delta's bytes without decoding it: padding, and a delta not written last", () => {
    for (const bytes of [0, 1, 2, 3, 4, 5, 1000, 4_801]) {
      const d = Buffer.alloc(bytes, 1).toString('base64');
      expect(audioDeltaBytes(f({ type: 'response.output_audio.delta', response_id: 'r', delta: d }))).toBe(bytes);
      expect(audioDeltaBytes(f({ type: 'response.output_audio.delta', delta: d, response_id: 'r' }))).toBe(bytes);
    }
    // base64's '/' written escaped (a JSON writer may): read through the string's own parse
    expect(audioDeltaBytes(Buffer.from('{"type":"response.output_audio.delta","delta":"\\/\\/\\/A"}'))).toBe(3);
    expect(audioDeltaBytes(Buffer.from('{"type":"response.output_audio.delta"}'))).toBe(0);
  });
});
