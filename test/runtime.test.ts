/**
 * Execution providers: the GPU path is tried first and falls back to CPU with one notice;
 * where a GPU does start, its embeddings must match the CPU ones.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { alignFace } from '../native/pipeline/align.ts';
import { decodePhoto } from '../native/pipeline/decode.ts';
import { detectFaces, loadDetector } from '../native/pipeline/detect.ts';
import { cosine, Embedder } from '../native/pipeline/embed.ts';
import { autoProvidersFor, canLoadLibrary, gpuProvidersFor, gpuUnavailableReason, hideSoftwareVulkan, SOFTWARE_VULKAN_DRIVERS } from '../native/pipeline/runtime.ts';
import { BBT, copyFaces, facesIn, runCli, tempDir } from './helpers.ts';

describe('execution providers', () => {
  it('names the GPU providers onnxruntime-node ships for each platform; auto leaves out WebGPU (measured slower than the CPU path)', () => {
    assert.deepEqual(gpuProvidersFor('linux'), ['webgpu']);
    assert.deepEqual(gpuProvidersFor('win32'), ['dml', 'webgpu']);
    assert.deepEqual(gpuProvidersFor('darwin'), ['coreml', 'webgpu']);
    assert.deepEqual(autoProvidersFor('linux'), []);
    assert.deepEqual(autoProvidersFor('win32'), ['dml']);
    assert.deepEqual(autoProvidersFor('darwin'), ['coreml']);
  });

  it('keeps Dawn off software Vulkan drivers unless the user chose the drivers', () => {
    const plain: NodeJS.ProcessEnv = {};
    hideSoftwareVulkan(plain);
    assert.equal(plain.VK_LOADER_DRIVERS_DISABLE, SOFTWARE_VULKAN_DRIVERS);
    assert.match(SOFTWARE_VULKAN_DRIVERS, /lvp/);
    for (const chosen of [{ VK_DRIVER_FILES: '/x/lvp_icd.json' }, { VK_ICD_FILENAMES: '/x/lvp_icd.json' }, { VK_LOADER_DRIVERS_DISABLE: '*nvidia*' }, { VK_LOADER_DRIVERS_DISABLE: '' }]) {
      const env: NodeJS.ProcessEnv = { ...chosen };
      hideSoftwareVulkan(env);
      assert.deepEqual(env, chosen);
    }
    // Importing the runtime did it for this process, before any session.
    if (!process.env.VK_DRIVER_FILES && !process.env.VK_ICD_FILENAMES) assert.ok(process.env.VK_LOADER_DRIVERS_DISABLE !== undefined);
  });

  it('auto uses a GPU provider when one starts, else the CPU, with a notice only when one was tried', async () => {
    const notices: string[] = [];
    const auto = await Embedder.load('ensemble', 'auto', (l) => notices.push(l));
    const cpu = await Embedder.load('ensemble', 'cpu');
    const photo = await decodePhoto(readFileSync(join(BBT, 'penny', 'penny2.png')));
    const [face] = await detectFaces(await loadDetector('cpu'), photo);
    const crop = alignFace(photo, face!.landmarks);
    const [a] = await auto.embed([crop]);
    const [c] = await cpu.embed([crop]);
    if (auto.provider === 'cpu') {
      const tried = autoProvidersFor(process.platform).length > 0;
      assert.equal(notices.length, tried ? 1 : 0, notices.join('\n'));
      if (tried) assert.match(notices[0]!, /no usable GPU \(.+\); using CPU/);
      assert.deepEqual(a, c);
    } else {
      console.log(`  GPU provider ${auto.provider}: cosine to CPU ${cosine(a!, c!).toFixed(6)}`);
      assert.ok(cosine(a!, c!) > 0.999);
    }
  });

  it('--device gpu fails with a clear message when no GPU provider starts', async (t) => {
    if (process.platform !== 'linux' || canLoadLibrary('libvulkan.so.1')) return t.skip('this machine may have a GPU');
    await assert.rejects(Embedder.load('fr-feature', 'gpu'), /no GPU execution provider could start \(webgpu: /);
  });

  it('does not start WebGPU on Linux without a Vulkan loader (it would only print Dawn noise and fail)', () => {
    assert.match(gpuUnavailableReason('webgpu', 'linux', () => false)!, /no Vulkan loader \(libvulkan\.so\.1\)/);
    assert.equal(gpuUnavailableReason('webgpu', 'linux', () => true), null);
    assert.equal(gpuUnavailableReason('dml', 'win32', () => false), null);
    assert.equal(gpuUnavailableReason('coreml', 'darwin', () => false), null);
    assert.equal(canLoadLibrary('libc.so.6'), true);
    assert.equal(canLoadLibrary('libkith-no-such-library.so.1'), false);
  });

  it('kith index on Linux prints no GPU notice and no ONNX Runtime or Dawn log lines; --device gpu says why it cannot', async (t) => {
    if (process.platform !== 'linux' || canLoadLibrary('libvulkan.so.1')) return t.skip('this machine has a Vulkan loader');
    const dir = tempDir('kith-quiet-');
    copyFaces(join(dir, 'photos'), facesIn('portraits/faceapi-bbt').slice(0, 2));
    const r = await runCli(['index', join(dir, 'photos'), '--db', join(dir, 'library.db'), '--embedder', 'sirius']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !/ photos \| /.test(l));
    assert.deepEqual(lines, []);
    const gpu = await runCli(['index', join(dir, 'photos'), '--db', join(dir, 'library.db'), '--embedder', 'sirius', '--device', 'gpu']);
    assert.notEqual(gpu.code, 0);
    assert.match(gpu.stderr, /no GPU execution provider could start \(webgpu: no Vulkan loader \(libvulkan\.so\.1\) on this system\)/);
  });
});
