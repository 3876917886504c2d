// The Realtime meter on hand-written frames: the type read off a frame's first bytes; a response's times from the
// client's response.create (or its response.created) to its first and last output delta and response.done; usage with
// cached and audio tokens; two responses at once told apart by their response_id; a refused response.create dropped;
// frames that are not type-first still read; a response the socket's end cut reported open.
import { describe, expect, it } from 'vitest';
import { deltaOf, frameType, RealtimeMeter, type RealtimeResponse } from './meter.js';

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

  it('reports a response the socket cut with the text and arguments its deltas streamed, never its audio', () => {
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
    });
    expect(out[0]?.outputChars).toBeUndefined();
  });
});
