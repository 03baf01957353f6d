/**
 * @file Minimal TFLite flatbuffer reader: just enough of tensorflow/lite/schema/schema.fbs
 * to walk a float32 inference graph, so that model conversion needs no TensorFlow install.
 * Tables are read by vtable field index (slot = 4 + 2 × index) straight off the bytes.
 */
import { ByteBuffer } from 'flatbuffers';

/** TensorType enum values we can represent; anything else is rejected when data is read. */
const TENSOR_TYPES = ['FLOAT32', 'FLOAT16', 'INT32', 'UINT8', 'INT64', 'STRING', 'BOOL', 'INT16', 'COMPLEX64', 'INT8'];

/** BuiltinOperator codes this reader can name; the converter decides which it supports. */
const OP_NAMES: Record<number, string> = {
  0: 'ADD', 1: 'AVERAGE_POOL_2D', 2: 'CONCATENATION', 3: 'CONV_2D', 4: 'DEPTHWISE_CONV_2D', 6: 'DEQUANTIZE',
  9: 'FULLY_CONNECTED', 11: 'L2_NORMALIZATION', 14: 'LOGISTIC', 17: 'MAX_POOL_2D', 18: 'MUL', 19: 'RELU',
  21: 'RELU6', 22: 'RESHAPE', 25: 'SOFTMAX', 28: 'TANH', 32: 'CUSTOM', 34: 'PAD', 39: 'TRANSPOSE', 40: 'MEAN',
  41: 'SUB', 42: 'DIV', 43: 'SQUEEZE', 54: 'PRELU', 74: 'SUM', 75: 'SQRT', 76: 'RSQRT', 101: 'ABS', 114: 'QUANTIZE',
};

export type Padding = 'SAME' | 'VALID';
/** Fused activations as named in ActivationFunctionType. */
export type Activation = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | 'TANH' | 'SIGN_BIT';
const ACTIVATIONS: Activation[] = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'];

export interface TfliteTensor {
  name: string;
  shape: number[];
  type: string;
  /** Constant data (weights); null for activations. */
  data: Float32Array | Int32Array | null;
}

/** The builtin options the converter needs; fields absent for an op stay undefined. */
export interface TfliteOptions {
  padding?: Padding;
  strideW?: number;
  strideH?: number;
  dilationW?: number;
  dilationH?: number;
  depthMultiplier?: number;
  filterW?: number;
  filterH?: number;
  activation?: Activation;
  newShape?: number[];
}

export interface TfliteOperator {
  op: string;
  inputs: number[];
  outputs: number[];
  options: TfliteOptions;
}

export interface TfliteModel {
  tensors: TfliteTensor[];
  operators: TfliteOperator[];
  inputs: number[];
  outputs: number[];
}

/** Thin cursor over one flatbuffer table. */
class Table {
  constructor(readonly bb: ByteBuffer, readonly pos: number) {}

  /** Absolute position of field `i`, or 0 when the field is absent (default value applies). */
  private at(i: number): number {
    const off = this.bb.__offset(this.pos, 4 + 2 * i);
    return off ? this.pos + off : 0;
  }
  int32(i: number, dflt = 0): number { const p = this.at(i); return p ? this.bb.readInt32(p) : dflt; }
  int8(i: number, dflt = 0): number { const p = this.at(i); return p ? this.bb.readInt8(p) : dflt; }
  string(i: number): string { const p = this.at(i); return p ? String(this.bb.__string(p)) : ''; }
  table(i: number): Table | null { const p = this.at(i); return p ? new Table(this.bb, this.bb.__indirect(p)) : null; }

  /** Vector of tables. */
  tables(i: number): Table[] {
    const p = this.at(i);
    if (!p) return [];
    const start = this.bb.__vector(p);
    return Array.from({ length: this.bb.__vector_len(p) }, (_, k) => new Table(this.bb, this.bb.__indirect(start + 4 * k)));
  }
  int32s(i: number): number[] {
    const p = this.at(i);
    if (!p) return [];
    const start = this.bb.__vector(p);
    return Array.from({ length: this.bb.__vector_len(p) }, (_, k) => this.bb.readInt32(start + 4 * k));
  }
  /** Byte vector as a view (no copy) into the file. */
  bytes(i: number): Uint8Array {
    const p = this.at(i);
    if (!p) return new Uint8Array(0);
    const u8 = this.bb.bytes();
    return u8.subarray(this.bb.__vector(p), this.bb.__vector(p) + this.bb.__vector_len(p));
  }
}

/**
 * Copies little-endian constant bytes into a typed array: buffers need not be 4-byte aligned, and
 * `new Uint8Array(raw)` always copies (Buffer#slice would return a view of the whole file).
 */
function decodeData(raw: Uint8Array, type: string, name: string): Float32Array | Int32Array | null {
  if (raw.length === 0) return null;
  const aligned = new Uint8Array(raw).buffer;
  if (type === 'FLOAT32') return new Float32Array(aligned);
  if (type === 'INT32') return new Int32Array(aligned);
  throw new Error(`tflite: constant tensor "${name}" has unsupported type ${type}`);
}

/** Reads one tensor; refuses quantised tensors since this reader only implements float graphs. */
function readTensor(t: Table, buffers: Table[]): TfliteTensor {
  const name = t.string(3);
  const type = TENSOR_TYPES[t.int8(1)] ?? `type#${t.int8(1)}`;
  const quant = t.table(4);
  if (quant && quant.int32s(2).length > 0) throw new Error(`tflite: tensor "${name}" is quantised; not supported`);
  const buffer = buffers[t.int32(2)];
  return { name, shape: t.int32s(0), type, data: buffer ? decodeData(buffer.bytes(0), type, name) : null };
}

/** Reads the builtin options table according to the options layout of each op. */
function readOptions(op: string, o: Table | null): TfliteOptions {
  if (!o) return {};
  const act = (i: number): Activation => ACTIVATIONS[o.int8(i)] ?? 'NONE';
  const pad = (): Padding => (o.int8(0) === 0 ? 'SAME' : 'VALID');
  switch (op) {
    case 'CONV_2D':
      return { padding: pad(), strideW: o.int32(1), strideH: o.int32(2), activation: act(3), dilationW: o.int32(4, 1), dilationH: o.int32(5, 1) };
    case 'DEPTHWISE_CONV_2D':
      return { padding: pad(), strideW: o.int32(1), strideH: o.int32(2), depthMultiplier: o.int32(3), activation: act(4), dilationW: o.int32(5, 1), dilationH: o.int32(6, 1) };
    case 'AVERAGE_POOL_2D': case 'MAX_POOL_2D':
      return { padding: pad(), strideW: o.int32(1), strideH: o.int32(2), filterW: o.int32(3), filterH: o.int32(4), activation: act(5) };
    case 'ADD': case 'SUB': case 'MUL': case 'DIV': case 'L2_NORMALIZATION': case 'FULLY_CONNECTED':
      return { activation: act(0) };
    case 'RESHAPE':
      return { newShape: o.int32s(0) };
    default:
      return {};
  }
}

/** Parses a .tflite file (first subgraph only — inference models have exactly one). */
export function readTflite(bytes: Uint8Array): TfliteModel {
  const bb = new ByteBuffer(bytes);
  if (!bb.__has_identifier('TFL3')) throw new Error('tflite: missing TFL3 file identifier');
  const model = new Table(bb, bb.readInt32(0));
  const opNames = model.tables(1).map((c) => {
    // builtin_code (field 3) supersedes the int8 deprecated_builtin_code (field 0) from schema v3a on.
    const code = Math.max(c.int8(0), c.int32(3));
    return OP_NAMES[code] ?? `BUILTIN#${code}`;
  });
  const buffers = model.tables(4);
  const graph = model.tables(2)[0];
  if (!graph) throw new Error('tflite: no subgraph');
  const operators = graph.tables(3).map((o): TfliteOperator => {
    const op = opNames[o.int32(0)] ?? 'UNKNOWN';
    return { op, inputs: o.int32s(1), outputs: o.int32s(2), options: readOptions(op, o.table(4)) };
  });
  return { tensors: graph.tables(0).map((t) => readTensor(t, buffers)), operators, inputs: graph.int32s(1), outputs: graph.int32s(2) };
}
