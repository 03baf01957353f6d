/** @file The product's seeded generator, for tests and benchmarks (one implementation). */
export { seededRandom } from '../native/common/seeded-random.ts';
