/**
 * @file The size of libuv's thread pool for a process that indexes. Every sharp (libvips) call —
 * decoding, the detector's input, thumbnails — and every file read runs on that pool, which has
 * 4 threads unless UV_THREADPOOL_SIZE says otherwise, is shared by all the process's worker
 * threads, and is sized once, when first used. With a photo worker per core, 4 threads would cap
 * libvips at 4 cores; on 16 cores with the recognisers on a GPU, libvips is about half of a group
 * photo's CPU time. So the pool gets a thread per core and two for file reads.
 */
import { availableParallelism } from 'node:os';

export function libuvThreadsFor(cores: number): number {
  return Math.max(4, cores + 2);
}

/** `env` with UV_THREADPOOL_SIZE for this machine, for a process about to start; a size the user set stays. */
export function withLibuvThreads(env: NodeJS.ProcessEnv, cores = availableParallelism()): NodeJS.ProcessEnv {
  return env.UV_THREADPOOL_SIZE ? env : { ...env, UV_THREADPOOL_SIZE: String(libuvThreadsFor(cores)) };
}
