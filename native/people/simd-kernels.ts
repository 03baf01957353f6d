/**
 * @file The namer's arithmetic: dot products of many faces with a few weight vectors, on a
 * hand-assembled WebAssembly SIMD module (f32x4), with a scalar reference of the same
 * interface on the same memory layout. Every cost of training and of scoring suggestions is
 * one of these products; bench/simd-kernels-bench.ts measures the module against the plain
 * loops at the app's sizes (704-d, 3,000 faces, 300 people), which is why it is kept: on a
 * 2-core Xeon VM (shared, load ~6), training on 3,154 lfw-dev faces of 300 people took 2.7 s
 * instead of 20.7 s, a retrain after a naming change 0.54–0.70 s instead of 0.79–1.15 s, and
 * scoring 2,000 faces for suggestions 0.19 s instead of 2.4 s; the same best person for every face.
 * The module is a few dozen instructions, assembled here from named opcodes so no toolchain is
 * needed; each function's loop is given above it. Layout contract: vectors are padded with
 * zeros to `paddedDim(d)` floats and matrices to a multiple of 4 rows, so the loops never
 * need a tail; the pads must be zero for the results to be the unpadded ones.
 */

/** The slice of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Kernels over one linear memory; every pointer is a byte offset into `memory.buffer`. */
export interface Kernels {
  memory: { readonly buffer: ArrayBuffer };
  /** For r in [0, rows) (rows % 4 == 0): out[r] = Σ_j x[r·dim + j] · w[j]. dim % 8 == 0. */
  rowsDot(x: number, rows: number, w: number, dim: number, out: number): void;
  /** rowsDot for two weight vectors in one pass over x (x is the big operand: each load serves both). */
  rowsDot2(x: number, rows: number, wA: number, wB: number, dim: number, outA: number, outB: number): void;
  /** Σ_j a[j] · b[j]. */
  dot(a: number, b: number, dim: number): number;
  /** y[j] += alpha · x[j]. */
  axpy(y: number, alpha: number, x: number, dim: number): void;
}

/** Makes kernels with a zeroed memory of at least `bytes`. */
export type KernelFactory = (bytes: number) => Kernels;

/** Floats a d-dimensional vector takes in kernel memory: d rounded up to a multiple of 8 (at least 8). */
export function paddedDim(d: number): number {
  return Math.max(8, Math.ceil(d / 8) * 8);
}

const uleb = (v: number): number[] => {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
};
const sleb = (v: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;
const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  mul: [0x6c],
  shl: [0x74],
  geu: [0x4f],
  f32add: [0x92],
  /** block; loop; (exit when the i32 on top is true via `exitIf`) …; continue; end; end */
  loop: (body: number[]) => [0x02, 0x40, 0x03, 0x40, ...body, 0x0c, 0x00, 0x0b, 0x0b],
  exitIf: [0x0d, 0x01],
  vload: [0xfd, ...uleb(0x00), 0x04, 0x00],
  vstore: [0xfd, ...uleb(0x0b), 0x04, 0x00],
  vzero: [0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0)],
  fmul: [0xfd, ...uleb(0xe6)],
  fadd: [0xfd, ...uleb(0xe4)],
  splat: [0xfd, ...uleb(0x13)],
  lane: (l: number) => [0xfd, ...uleb(0x1f), l],
  f32store: [0x38, 0x02, 0x00],
};
/** Horizontal sum of the v128 in local `v`. */
const hsum = (v: number) => [...op.get(v), ...op.lane(0), ...op.get(v), ...op.lane(1), ...op.f32add, ...op.get(v), ...op.lane(2), ...op.get(v), ...op.lane(3), ...op.f32add, ...op.f32add];
/** acc += load(base + j) · wv  (acc, base, j, wv are locals). */
const fma = (acc: number, base: number, j: number, wv: number) => [...op.get(acc), ...op.get(base), ...op.get(j), ...op.add, ...op.vload, ...op.get(wv), ...op.fmul, ...op.fadd, ...op.set(acc)];

function assemble(): Uint8Array {
  // rowsDot(x, rows, w, dim, out): for r in 0..rows step 4, four accumulators share each load of w.
  //   locals 5 r, 6 j, 7 bytes(dim·4), 8..11 row pointers, 12..15 acc, 16 wv
  const rowsDot = [
    ...op.get(3), ...op.i32(2), ...op.shl, ...op.set(7),
    ...op.i32(0), ...op.set(5),
    ...op.loop([
      ...op.get(5), ...op.get(1), ...op.geu, ...op.exitIf,
      ...op.get(0), ...op.get(5), ...op.get(7), ...op.mul, ...op.add, ...op.tee(8),
      ...op.get(7), ...op.add, ...op.tee(9), ...op.get(7), ...op.add, ...op.tee(10), ...op.get(7), ...op.add, ...op.set(11),
      ...op.vzero, ...op.set(12), ...op.vzero, ...op.set(13), ...op.vzero, ...op.set(14), ...op.vzero, ...op.set(15),
      ...op.i32(0), ...op.set(6),
      ...op.loop([
        ...op.get(6), ...op.get(7), ...op.geu, ...op.exitIf,
        ...op.get(2), ...op.get(6), ...op.add, ...op.vload, ...op.set(16),
        ...fma(12, 8, 6, 16), ...fma(13, 9, 6, 16), ...fma(14, 10, 6, 16), ...fma(15, 11, 6, 16),
        ...op.get(6), ...op.i32(16), ...op.add, ...op.set(6),
      ]),
      ...[12, 13, 14, 15].flatMap((acc, k) => [
        ...op.get(4), ...op.get(5), ...op.i32(k), ...op.add, ...op.i32(2), ...op.shl, ...op.add, ...hsum(acc), ...op.f32store,
      ]),
      ...op.get(5), ...op.i32(4), ...op.add, ...op.set(5),
    ]),
  ];
  // rowsDot2(x, rows, wA, wB, dim, outA, outB): as rowsDot, 4 rows × 2 weight vectors a step.
  //   locals 7 r, 8 j, 9 bytes, 10..13 row pointers, 14..21 acc (row-major: 14+2r = A, 15+2r = B), 22 wa, 23 wb, 24 xv
  const fma2 = (r: number) => [
    ...op.get(10 + r), ...op.get(8), ...op.add, ...op.vload, ...op.set(24),
    ...op.get(14 + 2 * r), ...op.get(24), ...op.get(22), ...op.fmul, ...op.fadd, ...op.set(14 + 2 * r),
    ...op.get(15 + 2 * r), ...op.get(24), ...op.get(23), ...op.fmul, ...op.fadd, ...op.set(15 + 2 * r),
  ];
  const rowsDot2 = [
    ...op.get(4), ...op.i32(2), ...op.shl, ...op.set(9),
    ...op.i32(0), ...op.set(7),
    ...op.loop([
      ...op.get(7), ...op.get(1), ...op.geu, ...op.exitIf,
      ...op.get(0), ...op.get(7), ...op.get(9), ...op.mul, ...op.add, ...op.tee(10),
      ...op.get(9), ...op.add, ...op.tee(11), ...op.get(9), ...op.add, ...op.tee(12), ...op.get(9), ...op.add, ...op.set(13),
      ...[14, 15, 16, 17, 18, 19, 20, 21].flatMap((acc) => [...op.vzero, ...op.set(acc)]),
      ...op.i32(0), ...op.set(8),
      ...op.loop([
        ...op.get(8), ...op.get(9), ...op.geu, ...op.exitIf,
        ...op.get(2), ...op.get(8), ...op.add, ...op.vload, ...op.set(22),
        ...op.get(3), ...op.get(8), ...op.add, ...op.vload, ...op.set(23),
        ...fma2(0), ...fma2(1), ...fma2(2), ...fma2(3),
        ...op.get(8), ...op.i32(16), ...op.add, ...op.set(8),
      ]),
      ...[0, 1, 2, 3].flatMap((r) => [
        ...op.get(5), ...op.get(7), ...op.i32(r), ...op.add, ...op.i32(2), ...op.shl, ...op.add, ...hsum(14 + 2 * r), ...op.f32store,
        ...op.get(6), ...op.get(7), ...op.i32(r), ...op.add, ...op.i32(2), ...op.shl, ...op.add, ...hsum(15 + 2 * r), ...op.f32store,
      ]),
      ...op.get(7), ...op.i32(4), ...op.add, ...op.set(7),
    ]),
  ];
  // dot(a, b, dim) -> f32: two accumulators, 8 floats a step.   locals 3 j, 4 bytes, 5..6 acc
  const dot = [
    ...op.get(2), ...op.i32(2), ...op.shl, ...op.set(4),
    ...op.vzero, ...op.set(5), ...op.vzero, ...op.set(6),
    ...op.i32(0), ...op.set(3),
    ...op.loop([
      ...op.get(3), ...op.get(4), ...op.geu, ...op.exitIf,
      ...op.get(5), ...op.get(0), ...op.get(3), ...op.add, ...op.vload, ...op.get(1), ...op.get(3), ...op.add, ...op.vload, ...op.fmul, ...op.fadd, ...op.set(5),
      ...op.get(3), ...op.i32(16), ...op.add, ...op.set(3),
      ...op.get(6), ...op.get(0), ...op.get(3), ...op.add, ...op.vload, ...op.get(1), ...op.get(3), ...op.add, ...op.vload, ...op.fmul, ...op.fadd, ...op.set(6),
      ...op.get(3), ...op.i32(16), ...op.add, ...op.set(3),
    ]),
    ...op.get(5), ...op.get(6), ...op.fadd, ...op.set(5), ...hsum(5),
  ];
  // axpy(y, alpha, x, dim): y[j] += alpha·x[j].   locals 4 j, 5 bytes, 6 splat(alpha)
  const axpy = [
    ...op.get(3), ...op.i32(2), ...op.shl, ...op.set(5),
    ...op.get(1), ...op.splat, ...op.set(6),
    ...op.i32(0), ...op.set(4),
    ...op.loop([
      ...op.get(4), ...op.get(5), ...op.geu, ...op.exitIf,
      ...op.get(0), ...op.get(4), ...op.add,
      ...op.get(0), ...op.get(4), ...op.add, ...op.vload, ...op.get(6), ...op.get(2), ...op.get(4), ...op.add, ...op.vload, ...op.fmul, ...op.fadd,
      ...op.vstore,
      ...op.get(4), ...op.i32(16), ...op.add, ...op.set(4),
    ]),
  ];
  const code = (locals: number[][], body: number[]) => {
    const f = [...vec(locals), ...body, 0x0b];
    return [...uleb(f.length), ...f];
  };
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([
      [0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), 0x00],
      [0x60, ...vec([[I32], [I32], [I32]]), 0x01, F32],
      [0x60, ...vec([[I32], [F32], [I32], [I32]]), 0x00],
      [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32], [I32]]), 0x00],
    ])),
    ...section(3, vec([[0], [1], [2], [3]])),
    ...section(5, vec([[0x00, 0x01]])),
    ...section(7, vec([[...name('rowsDot'), 0x00, 0], [...name('dot'), 0x00, 1], [...name('axpy'), 0x00, 2], [...name('rowsDot2'), 0x00, 3], [...name('memory'), 0x02, 0]])),
    ...section(10, vec([
      code([[7, I32], [5, V128]], rowsDot),
      code([[2, I32], [2, V128]], dot),
      code([[2, I32], [1, V128]], axpy),
      code([[7, I32], [11, V128]], rowsDot2),
    ])),
  ]);
}

let compiled: object | undefined;


/** The SIMD kernels: a fresh instance with its own memory of at least `bytes`. */
export function simdKernels(bytes: number): Kernels {
  compiled ??= new wasm.Module(assemble());
  const inst = new wasm.Instance(compiled, {});
  const memory = inst.exports.memory as WasmMemory;
  const pages = Math.ceil(bytes / 65536);
  if (pages > 1) memory.grow(pages - 1);
  return {
    memory,
    rowsDot: inst.exports.rowsDot as Kernels['rowsDot'],
    rowsDot2: inst.exports.rowsDot2 as Kernels['rowsDot2'],
    dot: inst.exports.dot as Kernels['dot'],
    axpy: inst.exports.axpy as Kernels['axpy'],
  };
}

/**
 * The reference: the same four functions as plain loops over Float32Array views, summed in
 * float64 (so within float32 rounding of the SIMD results, not bit-identical: the module sums
 * in float32, four lanes at a time). The property tests hold the SIMD module to it, and the
 * benchmark times it as the alternative.
 */
export function scalarKernels(bytes: number): Kernels {
  const buffer = new ArrayBuffer(Math.ceil(bytes / 4) * 4);
  const f = new Float32Array(buffer);
  const dot = (a: number, b: number, dim: number): number => {
    const ia = a >> 2, ib = b >> 2;
    let s = 0;
    for (let j = 0; j < dim; j++) s += f[ia + j]! * f[ib + j]!;
    return s;
  };
  return {
    memory: { buffer },
    rowsDot(x, rows, w, dim, out) {
      for (let r = 0; r < rows; r++) f[(out >> 2) + r] = dot(x + 4 * r * dim, w, dim);
    },
    rowsDot2(x, rows, wA, wB, dim, outA, outB) {
      const iA = wA >> 2, iB = wB >> 2;
      for (let r = 0; r < rows; r++) {
        const ix = (x >> 2) + r * dim;
        let sa = 0, sb = 0;
        for (let j = 0; j < dim; j++) {
          const v = f[ix + j]!;
          sa += v * f[iA + j]!;
          sb += v * f[iB + j]!;
        }
        f[(outA >> 2) + r] = sa;
        f[(outB >> 2) + r] = sb;
      }
    },
    dot,
    axpy(y, alpha, x, dim) {
      const iy = y >> 2, ix = x >> 2;
      for (let j = 0; j < dim; j++) f[iy + j]! += alpha * f[ix + j]!;
    },
  };
}

/** Vectors a Projection takes through the kernels at once. */
const BATCH = 256;

/** rows · v + bias for a fixed set of rows and many vectors (the namer's scores), on the kernels. */
export class Projection {
  private readonly k: Kernels;
  private readonly dp: number;
  private readonly batchAt: number;
  private readonly outAt: number;

  constructor(
    rows: readonly Float32Array[],
    private readonly bias: Float64Array,
    private readonly d: number,
    makeKernels: KernelFactory = simdKernels,
  ) {
    const M = rows.length;
    this.dp = paddedDim(d);
    this.batchAt = 4 * M * this.dp;
    this.outAt = this.batchAt + 4 * BATCH * this.dp;
    this.k = makeKernels(this.outAt + 4 * M * BATCH + 64);
    const W = new Float32Array(this.k.memory.buffer, 0, M * this.dp);
    rows.forEach((r, m) => W.set(r.subarray(0, d), m * this.dp));
  }

  /** Per vector, its score against every row. */
  apply(vectors: readonly Float32Array[]): Float32Array[] {
    const M = this.bias.length, { dp, k } = this;
    const out: Float32Array[] = [];
    const batch = new Float32Array(this.k.memory.buffer, this.batchAt, BATCH * dp);
    const res = new Float32Array(this.k.memory.buffer, this.outAt, M * BATCH);
    for (let start = 0; start < vectors.length; start += BATCH) {
      const B = Math.min(BATCH, vectors.length - start);
      const rows = Math.ceil(B / 4) * 4;
      batch.fill(0);
      for (let r = 0; r < B; r++) batch.set(vectors[start + r]!.subarray(0, this.d), r * dp);
      let m = 0;
      for (; m + 1 < M; m += 2) k.rowsDot2(this.batchAt, rows, 4 * m * dp, 4 * (m + 1) * dp, dp, this.outAt + 4 * m * BATCH, this.outAt + 4 * (m + 1) * BATCH);
      if (m < M) k.rowsDot(this.batchAt, rows, 4 * m * dp, dp, this.outAt + 4 * m * BATCH);
      for (let r = 0; r < B; r++) {
        const scores = new Float32Array(M);
        for (let c = 0; c < M; c++) scores[c] = res[c * BATCH + r]! + this.bias[c]!;
        out.push(scores);
      }
    }
    return out;
  }
}
