/**
 * @file int8 versions of Kith's recognisers, written with onnx-proto, deterministically from the
 * fp32 ONNX files. Two forms ONNX Runtime's CPU provider runs as integer arithmetic:
 * - `static`: QuantizeLinear/DequantizeLinear (QDQ) pairs on every activation, from calibrated
 *   ranges (uint8, asymmetric), and per-output-channel symmetric int8 Conv weights with int32
 *   biases. ORT fuses each DQ→Conv→Q into QLinearConv and DQ→Add→Q into QLinearAdd.
 * - `dynamic`: DynamicQuantizeLinear on each Conv input and ConvInteger with uint8 weights;
 *   ranges are found per run, so no calibration.
 * The final Conv of each model (the embedding itself) stays fp32. This is an experiment
 * (bench/int8-bench.ts); the engine does not load these files.
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

// onnx-proto is CommonJS; its namespace arrives on the default export under ESM.
const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

/** Observed [min, max] of each activation tensor over the calibration faces. */
export type Ranges = Record<string, [number, number]>;

function floats(t: Onnx.ITensorProto): Float32Array {
  if (t.dataType !== T.FLOAT) throw new Error(`initializer ${t.name} is not float`);
  // rawData may be a Buffer view into the whole file (Buffer#slice does not copy): copy it first.
  if (t.rawData?.length) return new Float32Array(Uint8Array.from(t.rawData).buffer);
  return Float32Array.from(t.floatData ?? []);
}

function tensor(name: string, dataType: number, dims: number[], data: ArrayBufferView): Onnx.ITensorProto {
  return { name, dataType, dims, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

function consumersOf(graph: Onnx.IGraphProto, name: string): Onnx.INodeProto[] {
  return (graph.node ?? []).filter((n) => (n.input ?? []).includes(name));
}

/**
 * The TFLite export spells PReLU as relu(x) + c·(x − |x|). That is PRelu(x, 2c) exactly
 * (doubling is exact in floating point); one op instead of five, and one QDQ pair instead of four.
 */
export function foldSplitPrelu(model: Onnx.IModelProto): number {
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const drop = new Set<Onnx.INodeProto>();
  let folded = 0;
  for (const relu of nodes.filter((n) => n.opType === 'Relu')) {
    const x = relu.input![0]!;
    const uses = consumersOf(graph, x);
    const abs = uses.find((n) => n.opType === 'Abs');
    const sub = uses.find((n) => n.opType === 'Sub' && n.input![0] === x && n.input![1] === abs?.output![0]);
    const mul = sub && consumersOf(graph, sub.output![0]!).find((n) => n.opType === 'Mul');
    const c = mul && inits.get(mul.input!.find((i) => i !== sub.output![0])!);
    const add = mul && consumersOf(graph, mul.output![0]!).find((n) => n.opType === 'Add' && n.input!.includes(relu.output![0]!));
    if (!abs || !sub || !mul || !c || !add) continue;
    const slope = floats(c).map((v) => 2 * v);
    const slopeName = `${c.name}/prelu_slope`;
    graph.initializer!.push(tensor(slopeName, T.FLOAT, (c.dims ?? []).map(Number), slope));
    // The PRelu takes the Relu's place in the node list, so the order stays topological.
    Object.assign(relu, { opType: 'PRelu', input: [x, slopeName], output: add.output, name: `${relu.name ?? x}/prelu` });
    for (const n of [abs, sub, mul, add]) drop.add(n);
    folded++;
  }
  graph.node = nodes.filter((n) => !drop.has(n));
  const used = new Set(graph.node.flatMap((n) => n.input ?? []));
  graph.initializer = (graph.initializer ?? []).filter((t) => used.has(t.name!));
  return folded;
}

/** Activations that may be quantised (in graph order): every tensor a node produces or the graph takes, except the embedding and what leads only to it. */
export function quantisableActivations(graph: Onnx.IGraphProto): string[] {
  const inits = new Set((graph.initializer ?? []).map((t) => t.name!));
  const keepFloat = new Set((graph.output ?? []).map((o) => o.name!));
  // Walk back from the outputs through shape-only ops and the final Conv: the embedding stays fp32.
  for (const n of [...(graph.node ?? [])].reverse()) {
    if (!(n.output ?? []).some((o) => keepFloat.has(o))) continue;
    if (n.opType === 'Reshape' || n.opType === 'Flatten') keepFloat.add(n.input![0]!);
  }
  const names = [...(graph.input ?? []).map((i) => i.name!), ...(graph.node ?? []).flatMap((n) => n.output ?? [])];
  return names.filter((n) => !inits.has(n) && !keepFloat.has(n));
}

/** The fp32 model, folded as the int8 one will be, that also outputs every quantisable activation (for calibration). */
export function calibrationModel(bytes: Uint8Array): { bytes: Uint8Array; tensors: string[] } {
  const model = onnx.ModelProto.decode(bytes);
  foldSplitPrelu(model);
  const graph = model.graph!;
  const tensors = quantisableActivations(graph);
  for (const name of tensors) {
    if ((graph.output ?? []).some((o) => o.name === name)) continue;
    graph.output!.push({ name, type: { tensorType: { elemType: T.FLOAT } } });
  }
  return { bytes: onnx.ModelProto.encode(model).finish(), tensors };
}

function setOpset13(model: Onnx.IModelProto): void {
  // Per-axis DequantizeLinear needs opset 13; Conv, PRelu, Add and Reshape mean the same there as in 9.
  const main = (model.opsetImport ?? []).find((o) => !o.domain);
  if (main && Number(main.version) < 13) main.version = 13;
}

/** uint8 scale and zero point covering [min, max] and 0. */
export function activationParams([lo, hi]: [number, number]): { scale: number; zeroPoint: number } {
  const min = Math.min(0, lo);
  const max = Math.max(0, hi);
  const scale = max > min ? (max - min) / 255 : 1;
  return { scale, zeroPoint: Math.min(255, Math.max(0, Math.round(-min / scale))) };
}

/** Per-output-channel symmetric int8: q = round(w / s[o]), s[o] = max|w[o]| / 127. */
export function quantiseWeightsPerChannel(w: Float32Array, outChannels: number): { q: Int8Array; scales: Float32Array } {
  const per = w.length / outChannels;
  const q = new Int8Array(w.length);
  const scales = new Float32Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    let m = 0;
    for (let k = 0; k < per; k++) m = Math.max(m, Math.abs(w[o * per + k]!));
    const s = m > 0 ? m / 127 : 1;
    scales[o] = s;
    for (let k = 0; k < per; k++) q[o * per + k] = Math.max(-127, Math.min(127, Math.round(w[o * per + k]! / s)));
  }
  return { q, scales };
}

/**
 * Static QDQ int8 model from the fp32 bytes and the calibrated activation ranges. Activations in
 * `keepFloat` stay fp32, and so does every Conv that reads or writes one (mixed precision).
 */
export function quantizeStatic(bytes: Uint8Array, ranges: Ranges, keepFloat: ReadonlySet<string> = new Set()): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  foldSplitPrelu(model);
  setOpset13(model);
  const graph = model.graph!;
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const acts = quantisableActivations(graph).filter((a) => !keepFloat.has(a));
  const actParams = new Map<string, { scale: number; zeroPoint: number }>();
  for (const a of acts) {
    const r = ranges[a];
    if (!r) throw new Error(`no calibration range for ${a}`);
    actParams.set(a, activationParams(r));
  }
  const newInits: Onnx.ITensorProto[] = [];
  const dqOf = new Map<string, string>();
  const qdqFor = (a: string): Onnx.INodeProto[] => {
    const p = actParams.get(a)!;
    newInits.push(tensor(`${a}/scale`, T.FLOAT, [], Float32Array.of(p.scale)), tensor(`${a}/zp`, T.UINT8, [], Uint8Array.of(p.zeroPoint)));
    dqOf.set(a, `${a}/dq`);
    return [
      { opType: 'QuantizeLinear', name: `${a}/Q`, input: [a, `${a}/scale`, `${a}/zp`], output: [`${a}/q`] },
      { opType: 'DequantizeLinear', name: `${a}/DQ`, input: [`${a}/q`, `${a}/scale`, `${a}/zp`], output: [`${a}/dq`] },
    ];
  };
  const weightNodes: Onnx.INodeProto[] = [];
  const out: Onnx.INodeProto[] = [];
  for (const i of graph.input ?? []) if (actParams.has(i.name!)) out.push(...qdqFor(i.name!));
  for (const n of graph.node ?? []) {
    const original = [...(n.input ?? [])];
    n.input = original.map((i) => dqOf.get(i) ?? i);
    const y = n.output![0]!;
    if (n.opType === 'Conv' && actParams.has(y) && actParams.has(original[0]!)) {
      const w = inits.get(original[1]!)!;
      const outCh = Number(w.dims![0]);
      const { q, scales } = quantiseWeightsPerChannel(floats(w), outCh);
      const wName = w.name!;
      newInits.push(
        tensor(`${wName}/int8`, T.INT8, w.dims!.map(Number), q),
        tensor(`${wName}/scale`, T.FLOAT, [outCh], scales),
        tensor(`${wName}/zp`, T.INT8, [outCh], new Int8Array(outCh)),
      );
      weightNodes.push({
        opType: 'DequantizeLinear',
        name: `${wName}/DQ`,
        input: [`${wName}/int8`, `${wName}/scale`, `${wName}/zp`],
        output: [`${wName}/dq`],
        attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
      });
      n.input[1] = `${wName}/dq`;
      const b = original[2] ? inits.get(original[2]) : undefined;
      if (b) {
        // int32 bias at scale s_x·s_w[o], zero point 0: what QLinearConv adds to its accumulator.
        const sx = actParams.get(original[0]!)!.scale;
        const bf = floats(b);
        const bScales = scales.map((s) => s * sx);
        const bq = Int32Array.from(bf, (v, o) => Math.round(v / bScales[o]!));
        newInits.push(
          tensor(`${b.name}/int32`, T.INT32, [outCh], bq),
          tensor(`${b.name}/scale`, T.FLOAT, [outCh], bScales),
          tensor(`${b.name}/zp`, T.INT32, [outCh], new Int32Array(outCh)),
        );
        weightNodes.push({
          opType: 'DequantizeLinear',
          name: `${b.name}/DQ`,
          input: [`${b.name}/int32`, `${b.name}/scale`, `${b.name}/zp`],
          output: [`${b.name}/dq`],
          attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
        });
        n.input[2] = `${b.name}/dq`;
      }
    }
    out.push(n);
    for (const o of n.output ?? []) if (actParams.has(o)) out.push(...qdqFor(o));
  }
  graph.node = [...weightNodes, ...out];
  graph.initializer = [...(graph.initializer ?? []), ...newInits];
  const used = new Set(graph.node.flatMap((n) => n.input ?? []));
  graph.initializer = graph.initializer.filter((t) => used.has(t.name!));
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Dynamic int8 model: each Conv but the last becomes DynamicQuantizeLinear → ConvInteger (uint8
 * weights, zero point 128, one scale per output channel) → Cast → Mul(s_x·s_w) → Add(bias).
 */
export function quantizeDynamic(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  foldSplitPrelu(model);
  setOpset13(model);
  const graph = model.graph!;
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const floatOut = new Set(quantisableActivations(graph));
  const newInits: Onnx.ITensorProto[] = [];
  const out: Onnx.INodeProto[] = [];
  for (const n of graph.node ?? []) {
    if (n.opType !== 'Conv' || !floatOut.has(n.output![0]!)) {
      out.push(n);
      continue;
    }
    const [x, wName, bName] = n.input!;
    const w = inits.get(wName!)!;
    const outCh = Number(w.dims![0]);
    const { q, scales } = quantiseWeightsPerChannel(floats(w), outCh);
    const qu = Uint8Array.from(q, (v) => v + 128);
    const y = n.output![0]!;
    const p = `${y}/dyn`;
    newInits.push(
      tensor(`${wName}/uint8`, T.UINT8, w.dims!.map(Number), qu),
      tensor(`${wName}/zp`, T.UINT8, [], Uint8Array.of(128)),
      tensor(`${wName}/scale`, T.FLOAT, [outCh, 1, 1], scales),
    );
    out.push(
      { opType: 'DynamicQuantizeLinear', name: `${p}/quant`, input: [x!], output: [`${p}/x`, `${p}/xs`, `${p}/xzp`] },
      { opType: 'ConvInteger', name: `${p}/conv`, input: [`${p}/x`, `${wName}/uint8`, `${p}/xzp`, `${wName}/zp`], output: [`${p}/acc`], attribute: n.attribute },
      { opType: 'Cast', name: `${p}/cast`, input: [`${p}/acc`], output: [`${p}/accf`], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: T.FLOAT }] },
      { opType: 'Mul', name: `${p}/scales`, input: [`${p}/xs`, `${wName}/scale`], output: [`${p}/s`] },
      { opType: 'Mul', name: `${p}/rescale`, input: [`${p}/accf`, `${p}/s`], output: bName ? [`${p}/nobias`] : [y] },
    );
    if (bName) {
      const b = inits.get(bName)!;
      newInits.push(tensor(`${bName}/chw`, T.FLOAT, [outCh, 1, 1], floats(b)));
      out.push({ opType: 'Add', name: `${p}/bias`, input: [`${p}/nobias`, `${bName}/chw`], output: [y] });
    }
  }
  graph.node = out;
  graph.initializer = [...(graph.initializer ?? []), ...newInits];
  const used = new Set(graph.node.flatMap((n) => n.input ?? []));
  graph.initializer = graph.initializer.filter((t) => used.has(t.name!));
  return onnx.ModelProto.encode(model).finish();
}
