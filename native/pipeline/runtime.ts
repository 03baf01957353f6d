/**
 * @file Creates ONNX Runtime sessions on the best execution provider this machine has, and
 * falls back to CPU with one notice when the GPU path cannot start. Sessions are created
 * once per model file and cached for the life of the process. ONNX Runtime is kept quiet: no
 * telemetry (no-telemetry.ts, imported first), and only its errors reach the terminal.
 */
import './no-telemetry.ts';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { ModelManifest } from '../../models/manifest.ts';

export type DeviceChoice = 'cpu' | 'gpu' | 'auto';

// ORT reads this when it creates its environment, with the first session: warnings such as
// "some nodes were not assigned to the preferred execution provider" are not the user's business.
ort.env.logLevel = 'error';
/** Session option with the same meaning: 3 = errors only. */
const ERRORS_ONLY = 3;

/** The GPU execution providers onnxruntime-node 1.30 ships for each platform, best first: what `gpu` tries. */
export function gpuProvidersFor(platform: NodeJS.Platform): string[] {
  if (platform === 'win32') return ['dml', 'webgpu'];
  if (platform === 'darwin') return ['coreml', 'webgpu'];
  return ['webgpu'];
}

/**
 * What `auto` tries before the CPU: the platform's own GPU providers, not WebGPU. With the
 * pool's embedding stage WebGPU analysed photos 1.6-2.2× faster than 16 CPU cores on an H100 (README
 * "GPU"), but that is one datacenter GPU, and on a machine with no GPU driver Dawn prints its own
 * warnings to stderr before failing: `--device gpu` asks for it.
 */
export function autoProvidersFor(platform: NodeJS.Platform): string[] {
  return gpuProvidersFor(platform).filter((ep) => ep !== 'webgpu');
}

/**
 * Vulkan drivers that run on the CPU: Mesa's lavapipe (installed with mesa-vulkan-drivers on most
 * Linux desktops) and SwiftShader. Dawn takes one as its adapter when no GPU driver answers, and
 * the models then run 10-100 times slower than on ONNX Runtime's own CPU kernels: measured here,
 * one recogniser batch of 4 took 990 ms on lavapipe (Mesa 25) against a few ms on the CPU.
 */
export const SOFTWARE_VULKAN_DRIVERS = '*lvp*,*swiftshader*';

/**
 * Keeps Dawn away from software Vulkan drivers by the loader's own driver filter
 * (VK_LOADER_DRIVERS_DISABLE, Vulkan loader 1.3.234+; older loaders ignore it). A driver list the
 * user gave explicitly (VK_DRIVER_FILES, VK_ICD_FILENAMES) or a filter of their own is left alone.
 * The loader reads the variable from the process environment when Dawn starts it, so this must run
 * on the main thread (a worker's process.env is a private copy), before the first WebGPU session.
 */
export function hideSoftwareVulkan(env: NodeJS.ProcessEnv = process.env): void {
  if (env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES || env.VK_LOADER_DRIVERS_DISABLE !== undefined) return;
  env.VK_LOADER_DRIVERS_DISABLE = SOFTWARE_VULKAN_DRIVERS;
}
if (isMainThread) hideSoftwareVulkan();

/** The Kith checkout or installed app folder (the parent of native/). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MODELS_DIR = process.env.KITH_MODELS_DIR ?? join(REPO_ROOT, 'models', 'onnx');

export function loadManifest(dir = MODELS_DIR): ModelManifest {
  try {
    return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
  } catch (err) {
    throw new Error(`model manifest missing in ${dir}: run \`npm run models\` (${(err as Error).message})`);
  }
}

export interface LoadedSession {
  session: ort.InferenceSession;
  /** Execution provider actually in use: 'cpu', 'webgpu', 'dml', 'coreml'. */
  provider: string;
}

const cache = new Map<string, Promise<LoadedSession>>();

/** ONNX Runtime's graph optimisation level, per model (the manifest says; models/fetch.ts has the measurement). */
export type GraphOptimization = 'all' | 'extended';

/** Threads each CPU session may use for one operator; undefined: ONNX Runtime's default (one per core). */
let intraOpThreads: number | undefined;

/**
 * How many threads each CPU session of this thread uses, set before the first session is made.
 * A worker of the indexing pool runs its sessions on one thread each: on inputs as small as a
 * face crop, spreading one operator over cores is the least efficient way to use them.
 */
export function setIntraOpThreads(n: number | undefined): void {
  intraOpThreads = n;
}

/** What setIntraOpThreads said for this thread (undefined: ONNX Runtime's default). */
export function intraOpThreadsSet(): number | undefined {
  return intraOpThreads;
}
/**
 * CPU sessions plan no memory pattern. A pattern pre-plans one block per input shape, and the
 * detector sees a new shape with nearly every photo (its input keeps the photo's aspect ratio),
 * so the blocks pile up in every worker. Measured on `groups` (2 workers, same run): peak RSS of
 * the indexing process 827–828 MiB without, 931–949 MiB with, at the same model CPU time per
 * photo (236 against 236 ms on groups, 60.5 against 60.6 on lfw-dev, one process, alternating).
 * Turning off the CPU arena as well saved no more memory and cost 4–5% CPU on groups.
 */
const CPU_MEMORY: ort.InferenceSession.SessionOptions = { enableMemPattern: false };

/**
 * One GPU session runs at a time in the whole process. onnxruntime-node runs a session
 * synchronously on the calling thread, so one thread's sessions never overlap; two worker
 * threads' WebGPU sessions do, and ONNX Runtime's WebGPU state is not safe for that: "CommandEncoder
 * is already finished" device errors and then heap corruption (seen on lavapipe with 2 workers,
 * also with a separate ep.webgpuexecutionprovider.deviceId per worker). The lock is an Int32 in
 * memory all the pool's threads share: 0 free, 1 held. The CPU work of the other workers
 * (decoding, aligning, thumbnails) goes on while one of them holds it.
 */
let gpuLock: Int32Array | null = isMainThread ? new Int32Array(newGpuLock()) : null;
/** The promise chain of this thread's GPU runs: a thread never waits on a lock it holds itself. */
let gpuTail: Promise<unknown> = Promise.resolve();

export function newGpuLock(): SharedArrayBuffer {
  return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
}

/**
 * The lock this thread's GPU sessions take, for the pool to hand to its workers. The main thread
 * holds one from the start, so its own GPU sessions (re-embedding, a run too small for the pool)
 * take turns with the workers' too.
 */
export function gpuLockBuffer(): SharedArrayBuffer {
  if (!gpuLock) throw new Error('this thread has no GPU lock to share');
  return gpuLock.buffer as SharedArrayBuffer;
}

/** Makes this thread's GPU sessions take `buffer`'s lock (a worker of the indexing pool). */
export function useGpuLock(buffer: SharedArrayBuffer): void {
  gpuLock = new Int32Array(buffer);
}

/**
 * `work` while this thread holds the process's GPU lock; straight away where it has none. Making
 * a session counts as GPU work: it uploads the weights. Unlocked session creation in 4 workers
 * gave the same device errors on an H100 as unlocked runs did.
 */
function withGpuLock<T>(work: () => Promise<T>): Promise<T> {
  const lock = gpuLock;
  if (!lock) return work();
  const locked = gpuTail.then(async () => {
    // Waiting asynchronously: the thread's event loop goes on meanwhile (the app's main thread, or a
    // worker's other photo in decoding), and Atomics.wait may be refused on some main threads. A
    // pending waitAsync does not keep a thread alive, so a timer does, or an idle worker would exit.
    while (Atomics.compareExchange(lock, 0, 0, 1) !== 0) {
      const wait = Atomics.waitAsync(lock, 0, 1);
      if (!wait.async) continue;
      const keepAlive = setInterval(() => {}, 60_000);
      await wait.value.finally(() => clearInterval(keepAlive));
    }
    try {
      return await work();
    } finally {
      Atomics.store(lock, 0, 0);
      Atomics.notify(lock, 0, 1);
    }
  });
  gpuTail = locked.catch(() => undefined);
  return locked;
}

/** `work` on a session of `provider`: a GPU session's under the GPU lock, a CPU session's straight away. */
function onDevice<T>(provider: string, work: () => Promise<T>): Promise<T> {
  return provider === 'cpu' ? work() : withGpuLock(work);
}

/** Runs `loaded` on `feeds`; a GPU session first takes the process's GPU lock, if this thread has one. */
export function runSession(loaded: LoadedSession, feeds: ort.InferenceSession.FeedsType): Promise<ort.InferenceSession.ReturnType> {
  return onDevice(loaded.provider, () => loaded.session.run(feeds));
}

/** Whether `device` means the CPU here without any GPU provider to try: then no session is needed to know it. */
export function certainlyCpu(device: DeviceChoice, platform: NodeJS.Platform = process.platform): boolean {
  return device === 'cpu' || (device === 'auto' && autoProvidersFor(platform).length === 0);
}

/** GPU providers that already failed in this process: tried once, reported once. */
const failedProviders = new Map<string, string>();

/**
 * Whether the dynamic linker finds `name` (as `dlopen` would, from the standard paths and
 * LD_LIBRARY_PATH). `process.dlopen` of a library that is not a Node addon loads it, fails with
 * "did not self-register" and unloads it again; only a missing file says "cannot open".
 */
export function canLoadLibrary(name: string): boolean {
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, name);
    return true;
  } catch (err) {
    return !/cannot open shared object file/.test((err as Error).message);
  }
}

/**
 * Why a GPU provider certainly cannot start here, found without starting it, or null. On Linux
 * WebGPU is Dawn over Vulkan: without the Vulkan loader Dawn prints a multi-line warning straight
 * to stderr (ORT's log level does not reach it) and then fails anyway.
 */
export function gpuUnavailableReason(ep: string, platform: NodeJS.Platform = process.platform, canLoad: (lib: string) => boolean = canLoadLibrary): string | null {
  if (ep === 'webgpu' && platform === 'linux' && !canLoad('libvulkan.so.1')) return 'no Vulkan loader (libvulkan.so.1) on this system';
  return null;
}

/** The useful part of an ORT error: its last sentence, without the C++ source location. */
function shortReason(err: unknown): string {
  const first = String((err as Error)?.message ?? err).split('\n')[0]!;
  return first.split(/ was false\.\s*/).pop()!.trim();
}

async function create(path: string, device: DeviceChoice, notice: (line: string) => void, level: GraphOptimization): Promise<LoadedSession> {
  const base: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: level, logSeverityLevel: ERRORS_ONLY };
  if (device !== 'cpu') {
    const fresh: string[] = [];
    for (const ep of device === 'gpu' ? gpuProvidersFor(process.platform) : autoProvidersFor(process.platform)) {
      if (failedProviders.has(ep)) continue;
      const unavailable = gpuUnavailableReason(ep);
      if (unavailable) {
        failedProviders.set(ep, unavailable);
        fresh.push(ep);
        continue;
      }
      try {
        const session = await withGpuLock(() => ort.InferenceSession.create(path, { ...base, executionProviders: [ep] }));
        return { session, provider: ep };
      } catch (err) {
        failedProviders.set(ep, shortReason(err));
        fresh.push(ep);
      }
    }
    const why = [...failedProviders].map(([ep, reason]) => `${ep}: ${reason}`).join('; ');
    if (device === 'gpu') throw new Error(`no GPU execution provider could start (${why})`);
    if (fresh.length > 0) notice(`no usable GPU (${why}); using CPU`);
  }
  const threads = intraOpThreads === undefined ? {} : { intraOpNumThreads: intraOpThreads, interOpNumThreads: 1 };
  const session = await ort.InferenceSession.create(path, { ...base, ...CPU_MEMORY, ...threads, executionProviders: ['cpu'] });
  return { session, provider: 'cpu' };
}

/** Cached session for a model file on the chosen device. */
export function sessionFor(path: string, device: DeviceChoice, notice: (line: string) => void = () => {}, level: GraphOptimization = 'all'): Promise<LoadedSession> {
  const key = `${device}:${level}:${path}`;
  let s = cache.get(key);
  if (!s) {
    s = create(path, device, notice, level);
    cache.set(key, s);
    s.catch(() => cache.delete(key));
  }
  return s;
}

/**
 * Releases this thread's sessions, a GPU one under the GPU lock. A worker of the pool does this
 * before it is terminated: left to the thread's teardown, WebGPU sessions of several workers free
 * their device buffers at once and corrupt the heap ("double free or corruption", lavapipe, 3 workers).
 */
export async function releaseSessions(): Promise<void> {
  const held = await Promise.allSettled([...cache.values()]);
  cache.clear();
  for (const s of held) {
    if (s.status !== 'fulfilled') continue;
    const { session, provider } = s.value;
    await onDevice(provider, () => session.release());
  }
}

/** How many model sessions this thread holds (each costs memory; the indexing pool keeps them in its workers). */
export function sessionsLoaded(): number {
  return cache.size;
}

export { ort };
