// A few-hundred-byte ONNX model written with a minimal protobuf encoder, for tests of the NLI slot: inputs
// input_ids, attention_mask, token_type_ids (int64 [batch, seq]); output logits (float [batch, 3]) =
// (Σ ids·mask)·W + B, so a test can recompute every score from the token ids and check tokenisation, padding and
// batching end to end. Not a real NLI model (nothing here learns meaning).

const enc = new TextEncoder();

function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

type Field = number[];
const key = (field: number, wire: number): number[] => varint((field << 3) | wire);
const vint = (field: number, n: number | bigint): Field => [...key(field, 0), ...varint(n)];
const bytes = (field: number, b: Uint8Array | number[]): Field => [...key(field, 2), ...varint(b.length), ...b];
const str = (field: number, s: string): Field => bytes(field, enc.encode(s));
const msg = (field: number, ...parts: Field[]): Field => bytes(field, parts.flat());

const FLOAT = 1;
const INT64 = 7;

function tensor(field: number, name: string, type: number, dims: number[], values: number[]): Field {
  const raw =
    type === FLOAT
      ? new Uint8Array(new Float32Array(values).buffer)
      : new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer);
  return msg(field, ...dims.map((d) => vint(1, d)), vint(2, type), str(8, name), bytes(9, raw));
}

function valueInfo(field: number, name: string, type: number, dims: (number | string)[]): Field {
  const shape = dims.map((d) => msg(1, typeof d === 'number' ? vint(1, d) : str(2, d)));
  return msg(field, str(1, name), msg(2, msg(1, vint(1, type), msg(2, ...shape))));
}

function node(op: string, inputs: string[], outputs: string[], attrs: Field[] = []): Field {
  return msg(1, ...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(4, op), ...attrs);
}

/** The model's bytes; `w` and `b` are the weights and biases (one per label) applied to Σ ids·mask. */
export function tinyNliModel(w: number[] = [0.004, -0.002, -0.004], b: number[] = [-1, 0.5, 2]): Uint8Array {
  const graph = [
    node('Cast', ['input_ids'], ['ids_f'], [msg(5, str(1, 'to'), vint(3, FLOAT), vint(20, 2))]),
    node('Cast', ['attention_mask'], ['mask_f'], [msg(5, str(1, 'to'), vint(3, FLOAT), vint(20, 2))]),
    node('Mul', ['ids_f', 'mask_f'], ['masked']),
    node('ReduceSum', ['masked', 'axes'], ['total']),
    node('MatMul', ['total', 'W'], ['xw']),
    node('Add', ['xw', 'B'], ['logits']),
    str(2, 'tiny-nli'),
    tensor(5, 'axes', INT64, [1], [1]),
    tensor(5, 'W', FLOAT, [1, w.length], w),
    tensor(5, 'B', FLOAT, [b.length], b),
    valueInfo(11, 'input_ids', INT64, ['batch', 'seq']),
    valueInfo(11, 'attention_mask', INT64, ['batch', 'seq']),
    valueInfo(11, 'token_type_ids', INT64, ['batch', 'seq']),
    valueInfo(12, 'logits', FLOAT, ['batch', w.length]),
  ];
  const model = [vint(1, 8), str(2, 'llmscope-test'), msg(7, ...graph), msg(8, str(1, ''), vint(2, 13))];
  return new Uint8Array(model.flat());
}

/** Expected logits for a batch of token rows (what the tiny model computes). */
export function tinyLogits(
  ids: readonly number[],
  mask: readonly number[],
  w: readonly number[] = [0.004, -0.002, -0.004],
  b: readonly number[] = [-1, 0.5, 2],
): number[] {
  let s = 0;
  for (let i = 0; i < ids.length; i++) s += (ids[i] as number) * (mask[i] as number);
  return [0, 1, 2].map((k) => s * (w[k] as number) + (b[k] as number));
}
