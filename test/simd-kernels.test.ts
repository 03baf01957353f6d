/**
 * @file The namer's WebAssembly SIMD kernels against their scalar reference, on seeded random
 * inputs whose dimensions include odd ones (1, 3, 7, 13, 705, …) so the zero padding to a
 * multiple of 8 floats, and the padding of rows to a multiple of 4, always run. Agreement is
 * asked within float32 rounding: the module sums in float32, four lanes at a time, the
 * reference in float64, so the bound is the textbook one for a float32 sum of n products,
 * n·2⁻²³·Σ|aⱼbⱼ|. A missing tail element, or garbage in a pad, is off by a whole |aⱼbⱼ|.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { paddedDim, Projection, scalarKernels, simdKernels, type Kernels } from '../native/people/simd-kernels.ts';
import { seededRandom } from './seeded-random.ts';

const ODD_DIMS = [1, 3, 7, 13, 705];
const CASES = 60;
const U = 2 ** -23;

/** Dimensions to try: the odd ones, the app's, and seeded random ones up to 1,030. */
function dims(rand: () => number): number[] {
  return [...ODD_DIMS, 8, 192, 512, 704, ...Array.from({ length: CASES }, () => 1 + Math.floor(rand() * 1030))];
}

function vector(d: number, rand: () => number): Float32Array {
  return Float32Array.from({ length: d }, () => rand() * 2 - 1);
}

/** Σ aⱼbⱼ in float64 and the error allowed for a float32 sum of those d products. */
function exact(a: Float32Array, b: Float32Array): { value: number; tolerance: number } {
  let value = 0, magnitude = 0;
  for (let j = 0; j < a.length; j++) {
    value += a[j]! * b[j]!;
    magnitude += Math.abs(a[j]! * b[j]!);
  }
  return { value, tolerance: (a.length + 4) * U * magnitude + 1e-30 };
}

/** Both kernels over one layout: `rows` vectors of dimension d, padded, then weights A and B, then outputs. */
function layout(make: (bytes: number) => Kernels, xs: Float32Array[], wA: Float32Array, wB: Float32Array) {
  const dp = paddedDim(wA.length), rows = Math.ceil(xs.length / 4) * 4;
  const at = { x: 0, wA: 4 * rows * dp, wB: 4 * (rows + 1) * dp, outA: 4 * (rows + 2) * dp, outB: 4 * (rows + 2) * dp + 4 * rows };
  const k = make(at.outB + 4 * rows + 64);
  const mem = new Float32Array(k.memory.buffer);
  xs.forEach((x, r) => mem.set(x, r * dp));
  mem.set(wA, at.wA / 4);
  mem.set(wB, at.wB / 4);
  return { k, mem, dp, rows, at };
}

describe('SIMD kernels agree with the scalar reference', () => {
  it('paddedDim rounds up to a multiple of 8, at least 8', () => {
    assert.deepEqual([1, 3, 7, 8, 9, 13, 704, 705].map(paddedDim), [8, 8, 8, 8, 16, 16, 704, 712]);
  });

  it('dot, rowsDot and rowsDot2 on padded odd dimensions and row counts', () => {
    const rand = seededRandom(11);
    for (const d of dims(rand)) {
      const n = 1 + Math.floor(rand() * 13);
      const xs = Array.from({ length: n }, () => vector(d, rand));
      const wA = vector(d, rand), wB = vector(d, rand);
      for (const make of [simdKernels, scalarKernels]) {
        const { k, mem, dp, rows, at } = layout(make, xs, wA, wB);
        const label = `${make.name} d=${d} rows=${n}`;
        const one = exact(xs[0]!, wA);
        assert.ok(Math.abs(k.dot(at.x, at.wA, dp) - one.value) <= one.tolerance, `dot, ${label}`);
        k.rowsDot(at.x, rows, at.wA, dp, at.outA);
        xs.forEach((x, r) => {
          const e = exact(x, wA);
          assert.ok(Math.abs(mem[at.outA / 4 + r]! - e.value) <= e.tolerance + Math.abs(e.value) * U, `rowsDot row ${r}, ${label}`);
        });
        for (let r = n; r < rows; r++) assert.equal(mem[at.outA / 4 + r], 0, `padding row ${r} scores 0, ${label}`);
        mem.fill(0, at.outA / 4, at.outB / 4 + rows);
        k.rowsDot2(at.x, rows, at.wA, at.wB, dp, at.outA, at.outB);
        xs.forEach((x, r) => {
          for (const [w, out] of [[wA, at.outA], [wB, at.outB]] as const) {
            const e = exact(x, w);
            assert.ok(Math.abs(mem[out / 4 + r]! - e.value) <= e.tolerance + Math.abs(e.value) * U, `rowsDot2 row ${r}, ${label}`);
          }
        });
      }
    }
  });

  it('axpy adds alpha·x within one rounding of each operation, and leaves the pads zero', () => {
    const rand = seededRandom(12);
    for (const d of dims(rand)) {
      const x = vector(d, rand), y = vector(d, rand), alpha = rand() * 4 - 2;
      const { k, mem, dp, at } = layout(simdKernels, [x], y, new Float32Array(d));
      k.axpy(at.wA, alpha, at.x, dp);
      for (let j = 0; j < d; j++) {
        const want = y[j]! + alpha * x[j]!;
        assert.ok(Math.abs(mem[at.wA / 4 + j]! - want) <= 2 * U * (Math.abs(y[j]!) + Math.abs(alpha * x[j]!)), `axpy d=${d} j=${j}`);
      }
      for (let j = d; j < dp; j++) assert.equal(mem[at.wA / 4 + j], 0, `pad ${j} of d=${d}`);
    }
  });

  it('a Projection scores any number of vectors of any dimension as the reference does', () => {
    const rand = seededRandom(13);
    for (const d of [...ODD_DIMS, 704]) {
      const M = 1 + Math.floor(rand() * 9);
      const rows = Array.from({ length: M }, () => vector(d, rand));
      const bias = Float64Array.from({ length: M }, () => rand() - 0.5);
      // More than one batch of 256, and a last batch that is not a multiple of 4.
      const vs = Array.from({ length: 263 }, () => vector(d, rand));
      const simd = new Projection(rows, bias, d, simdKernels).apply(vs);
      const scalar = new Projection(rows, bias, d, scalarKernels).apply(vs);
      vs.forEach((v, i) => {
        for (let m = 0; m < M; m++) {
          const e = exact(v, rows[m]!);
          const tol = e.tolerance + 4 * U * (Math.abs(e.value) + Math.abs(bias[m]!));
          assert.ok(Math.abs(simd[i]![m]! - (e.value + bias[m]!)) <= tol, `simd d=${d} vector ${i} row ${m}`);
          assert.ok(Math.abs(scalar[i]![m]! - (e.value + bias[m]!)) <= tol, `scalar d=${d} vector ${i} row ${m}`);
        }
      });
    }
  });
});
