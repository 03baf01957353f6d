/**
 * @file Converts the sirius-ai MobileFaceNet .tflite (NHWC, batch fixed at 2) into an ONNX model
 * (NCHW, symbolic batch) that onnxruntime can run, so we can ship that embedder without a Python
 * toolchain. Only the ops that file uses are implemented; anything else fails loudly.
 *
 * The graph expects the model's documented preprocessing to happen outside it: RGB 112×112,
 * (x − 127.5) / 128 per channel, laid out NCHW. Output `embedding` is the raw [N, 192] vector (the
 * TFLite graph ends at a reshape, without L2 normalisation), so callers normalise it themselves.
 */
import onnxPkg from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { readTflite, type Activation, type TfliteModel, type TfliteOperator, type TfliteOptions } from './tflite-reader.ts';

// onnx-proto is CommonJS without named-export hints, so Node's ESM loader only exposes a default export.
const { onnx } = onnxPkg;

const FLOAT = 1;

/** Elementwise ops that map one-to-one (TFLite broadcasting semantics equal ONNX's for these). */
const BINARY: Record<string, string> = { ADD: 'Add', SUB: 'Sub', MUL: 'Mul' };
const UNARY: Record<string, string> = { RELU: 'Relu', ABS: 'Abs' };

/** Reorders a dense array of `shape` by `perm` (like numpy.transpose). */
function transpose(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const out = new Float32Array(data.length);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const outShape = perm.map((p) => shape[p]!);
  const idx = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < perm.length; d++) src += idx[d]! * strides[perm[d]!]!;
    out[o] = data[src]!;
    for (let d = perm.length - 1; d >= 0 && ++idx[d]! === outShape[d]!; d--) idx[d] = 0;
  }
  return out;
}

/** TFLite SAME: total pad = max((out−1)·s + (k−1)·d + 1 − in, 0), with the odd pixel at the end. */
function samePads(inSize: number, k: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + (k - 1) * dilation + 1 - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Builds the ONNX graph step by step while tracking names and emitted initializers. */
class GraphBuilder {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: Onnx.ITensorProto[] = [];
  private readonly emitted = new Set<string>();
  private tmp = 0;

  constructor(private readonly m: TfliteModel, private readonly names: string[]) {}

  name(t: number): string { return this.names[t]!; }
  fresh(base: string): string { return `${base}/${this.tmp++}`; }

  node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, number | number[]> = {}): void {
    const attribute = Object.entries(attrs).map(([name, v]): Onnx.IAttributeProto =>
      Array.isArray(v) ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v } : { name, type: onnx.AttributeProto.AttributeType.INT, i: v });
    this.nodes.push({ opType, input: inputs, output: outputs, name: outputs[0], attribute });
  }

  /** Adds a float initializer once under `name`. */
  constant(name: string, dims: number[], data: Float32Array): string {
    if (!this.emitted.has(name)) {
      this.emitted.add(name);
      this.initializers.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    }
    return name;
  }

  /** The float data of a constant input tensor, or a clear error if the input is not constant. */
  weights(t: number): Float32Array {
    const data = this.m.tensors[t]!.data;
    if (!(data instanceof Float32Array)) throw new Error(`tflite-to-onnx: expected float32 constant for "${this.name(t)}"`);
    return data;
  }

  /** Where a node with fused activation `act` should write, so that `activation` can finish into `out`. */
  preActivation(act: Activation | undefined, out: string): string {
    return !act || act === 'NONE' ? out : this.fresh(out);
  }

  /** Appends the fused activation after a node that wrote `pre`, landing in `out`. */
  activation(act: Activation | undefined, pre: string, out: string): void {
    if (pre === out) return;
    if (act === 'RELU') this.node('Relu', [pre], [out]);
    else if (act === 'RELU6') this.clip(pre, out, 0, 6);
    else if (act === 'RELU_N1_TO_1') this.clip(pre, out, -1, 1);
    else throw new Error(`tflite-to-onnx: fused activation ${act} not supported`);
  }

  private clip(pre: string, out: string, lo: number, hi: number): void {
    const b = [this.constant(`${out}/min`, [], Float32Array.of(lo)), this.constant(`${out}/max`, [], Float32Array.of(hi))];
    this.node('Clip', [pre, ...b], [out]);
  }
}

/** CONV_2D (OHWI → OIHW) and DEPTHWISE_CONV_2D ([1,H,W,C·m] → [C·m,1,H,W], group = C_in). */
function convertConv(g: GraphBuilder, m: TfliteModel, op: TfliteOperator, depthwise: boolean): void {
  const [x, w, b] = op.inputs as [number, number, number];
  const o: TfliteOptions = op.options;
  const inShape = m.tensors[x]!.shape; // NHWC
  const wShape = m.tensors[w]!.shape;
  const [kh, kw] = [wShape[1]!, wShape[2]!];
  const weights = depthwise
    ? transpose(g.weights(w), wShape, [3, 0, 1, 2])
    : transpose(g.weights(w), wShape, [0, 3, 1, 2]);
  const dims = depthwise ? [wShape[3]!, 1, kh, kw] : [wShape[0]!, wShape[3]!, kh, kw];
  const [dh, dw] = [o.dilationH ?? 1, o.dilationW ?? 1];
  const [sh, sw] = [o.strideH ?? 1, o.strideW ?? 1];
  const [top, bottom] = o.padding === 'SAME' ? samePads(inShape[1]!, kh, sh, dh) : [0, 0];
  const [left, right] = o.padding === 'SAME' ? samePads(inShape[2]!, kw, sw, dw) : [0, 0];
  const inputs = [g.name(x), g.constant(`${g.name(w)}/oihw`, dims, weights)];
  if (b >= 0) inputs.push(g.constant(g.name(b), [m.tensors[b]!.shape[0]!], g.weights(b)));
  const pre = g.preActivation(o.activation, g.name(op.outputs[0]!));
  g.node('Conv', inputs, [pre], {
    kernel_shape: [kh, kw], strides: [sh, sw], dilations: [dh, dw], pads: [top, left, bottom, right],
    group: depthwise ? inShape[3]! : 1,
  });
  g.activation(o.activation, pre, g.name(op.outputs[0]!));
}

/** Elementwise op; a constant operand is re-laid-out to broadcast against NCHW activations. */
function convertBinary(g: GraphBuilder, m: TfliteModel, op: TfliteOperator): void {
  const rank = Math.max(...op.inputs.filter((t) => !m.tensors[t]!.data).map((t) => m.tensors[t]!.shape.length));
  const operand = (t: number): string => {
    const { data, shape } = m.tensors[t]!;
    if (!data) return g.name(t);
    const f = g.weights(t);
    if (rank !== 4 || f.length === 1) return g.constant(g.name(t), shape, f);
    if (shape.length === 1) return g.constant(`${g.name(t)}/c11`, [f.length, 1, 1], f);
    if (shape.length === 4) return g.constant(`${g.name(t)}/nchw`, [0, 3, 1, 2].map((p) => shape[p]!), transpose(f, shape, [0, 3, 1, 2]));
    throw new Error(`tflite-to-onnx: cannot broadcast constant "${g.name(t)}" of shape [${shape}] in NCHW`);
  };
  const pre = g.preActivation(op.options.activation, g.name(op.outputs[0]!));
  g.node(BINARY[op.op]!, op.inputs.map(operand), [pre]);
  g.activation(op.options.activation, pre, g.name(op.outputs[0]!));
}

/**
 * RESHAPE to [batch, features] only. TFLite flattens NHWC order, so a spatial tensor is transposed back
 * to NHWC before Flatten; Flatten keeps the batch dimension symbolic, unlike the file's fixed [2, 192].
 */
function convertReshape(g: GraphBuilder, m: TfliteModel, op: TfliteOperator): void {
  const [x] = op.inputs as [number];
  const inShape = m.tensors[x]!.shape;
  const outShape = m.tensors[op.outputs[0]!]!.shape;
  if (inShape.length !== 4 || outShape.length !== 2 || outShape[0] !== inShape[0]) {
    throw new Error(`tflite-to-onnx: only RESHAPE [N,H,W,C] → [N,H·W·C] is supported, got [${inShape}] → [${outShape}]`);
  }
  let src = g.name(x);
  if (inShape[1]! * inShape[2]! > 1) {
    const nhwc = g.fresh(src);
    g.node('Transpose', [src], [nhwc], { perm: [0, 2, 3, 1] });
    src = nhwc;
  }
  g.node('Flatten', [src], [g.name(op.outputs[0]!)], { axis: 1 });
}

/** Unique ONNX names: TFLite names, except the graph input/output get our public names. */
function tensorNames(m: TfliteModel): string[] {
  const seen = new Set<string>();
  return m.tensors.map((t, i) => {
    const n = i === m.inputs[0] ? 'input' : i === m.outputs[0] ? 'embedding' : seen.has(t.name) || !t.name ? `${t.name}#${i}` : t.name;
    seen.add(n);
    return n;
  });
}

/** Float tensor value info with a symbolic batch dimension. */
function valueInfo(name: string, dims: (number | string)[]): Onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim } } } };
}

/** Converts MobileFaceNet .tflite bytes into serialized ONNX (opset 13) bytes. */
export function tfliteToOnnx(tflite: Uint8Array): Uint8Array {
  const m = readTflite(tflite);
  if (m.inputs.length !== 1 || m.outputs.length !== 1) throw new Error('tflite-to-onnx: expected one input and one output');
  const g = new GraphBuilder(m, tensorNames(m));
  for (const op of m.operators) {
    if (op.op === 'CONV_2D' || op.op === 'DEPTHWISE_CONV_2D') convertConv(g, m, op, op.op === 'DEPTHWISE_CONV_2D');
    else if (op.op in BINARY) convertBinary(g, m, op);
    else if (op.op in UNARY) g.node(UNARY[op.op]!, [g.name(op.inputs[0]!)], [g.name(op.outputs[0]!)]);
    else if (op.op === 'RESHAPE') convertReshape(g, m, op);
    else throw new Error(`tflite-to-onnx: unsupported TFLite op ${op.op}`);
  }
  const [, h, w, c] = m.tensors[m.inputs[0]!]!.shape;
  const outShape = m.tensors[m.outputs[0]!]!.shape;
  const graph: Onnx.IGraphProto = {
    name: 'mobilefacenet',
    node: g.nodes,
    initializer: g.initializers,
    input: [valueInfo('input', ['batch', c!, h!, w!])],
    output: [valueInfo('embedding', ['batch', ...outShape.slice(1)])],
  };
  const model: Onnx.IModelProto = {
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'kith-tflite-to-onnx',
    graph,
  };
  return onnx.ModelProto.encode(model).finish();
}
