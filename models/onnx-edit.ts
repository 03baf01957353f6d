/**
 * @file Small, verified edits to third-party ONNX graphs so the engine can feed them the
 * shapes it needs (any photo aspect ratio for the detector, batches for the embedder).
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

// onnx-proto is CommonJS; its namespace arrives on the default export under ESM.
const { onnx } = onnxProto;

type Dim = number | string;

/** Rewrite the declared shape of a graph input or output; string entries become symbolic dims. */
function setShape(info: Onnx.IValueInfoProto, dims: Dim[]): void {
  const shape = info.type?.tensorType?.shape;
  if (!shape) throw new Error(`value ${info.name} has no tensor shape`);
  shape.dim = dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
}

/** RetinaFace: make H and W symbolic so each photo runs at its own aspect ratio. Its reshapes already use 0/-1. */
export function retinafaceDynamicSize(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  for (const input of graph.input ?? []) setShape(input, [1, 3, 'height', 'width']);
  for (const output of graph.output ?? []) {
    const channels = Number(output.type?.tensorType?.shape?.dim?.[1]?.dimValue ?? 0);
    const stride = /stride(\d+)$/.exec(output.name ?? '')?.[1];
    setShape(output, [1, channels, `h${stride}`, `w${stride}`]);
  }
  return onnx.ModelProto.encode(model).finish();
}

/** fr_feature: its final Reshape is [1,-1]; [0,-1] keeps the batch dimension, so batches work. */
export function frFeatureBatchable(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const reshapes = (graph.node ?? []).filter((n) => n.opType === 'Reshape');
  if (reshapes.length !== 1) throw new Error(`fr_feature: expected one Reshape, found ${reshapes.length}`);
  const shapeName = reshapes[0]!.input![1];
  const shapeInit = (graph.initializer ?? []).find((t) => t.name === shapeName);
  if (!shapeInit) throw new Error('fr_feature: Reshape shape is not an initializer');
  const shape = new BigInt64Array(2);
  shape[0] = 0n;
  shape[1] = -1n;
  shapeInit.int64Data = [];
  shapeInit.rawData = new Uint8Array(shape.buffer);
  for (const input of graph.input ?? []) if (input.name === 'input') setShape(input, ['batch', 3, 112, 112]);
  for (const output of graph.output ?? []) setShape(output, ['batch', 512]);
  return onnx.ModelProto.encode(model).finish();
}
