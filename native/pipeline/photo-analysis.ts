/**
 * @file One photo file, start to finish, as an indexing run needs it: size checked, hashed,
 * decoded, faces found and aligned, embedded, thumbnails cut. Runs the same in a worker thread
 * (photo-worker.ts) and in-process; only plain data comes back (no pixels), so a result crosses
 * threads cheaply.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { analysePhoto, type FaceDraft } from './analyse.ts';
import { decodePhotoFile, DecodeError, photoFileSize } from './decode.ts';
import type { FaceEmbedder } from './embed.ts';
import type { LoadedSession } from './runtime.ts';

export interface PhotoModels {
  detector: LoadedSession;
  embedder: FaceEmbedder;
}

/** The execution provider a run records: one name, or detector/embedder when they differ. */
export function providerOf({ detector, embedder }: PhotoModels): string {
  return embedder.provider === detector.provider ? detector.provider : `${detector.provider}/${embedder.provider}`;
}

/** What the store keeps about a decoded photo. */
export interface PhotoMeta {
  originalWidth: number;
  originalHeight: number;
  format: string;
  takenAt: string | null;
}

export interface AnalysedFile {
  path: string;
  /** Null when the file could not be stat'ed (vanished, unreadable). */
  size: number | null;
  hash: string | null;
  /** Null when the file could not be read or decoded (`error` says why). */
  photo: PhotoMeta | null;
  faces: FaceDraft[];
  /** One per face, in order. */
  vectors: Float32Array[];
  /** One JPEG per face, in order. */
  thumbs: Uint8Array[];
  error: string | null;
  /** Wall time per stage; `align` is alignment and quality, `thumbs` cutting the thumbnails. */
  ms: { read: number; decode: number; detect: number; align: number; thumbs: number; embed: number };
}

/** A user-readable reason for a failure to read or decode a file. */
export function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e instanceof DecodeError) return e.message;
  switch (e?.code) {
    case 'ENOENT':
      return 'file vanished before it could be read';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied: Kith cannot read this file';
    case 'EISDIR':
      return 'not a file';
    default:
      return e?.message ?? String(err);
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * sha256 of a photo file, streamed so memory stays flat. A file over the photo size limit is
 * refused (DecodeError) rather than read: it will never be indexed, so its hash is never needed.
 */
export async function sha256File(path: string): Promise<string> {
  await photoFileSize(path);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Analyse one file; a file Kith cannot use comes back with `error` set, never as a throw. */
export async function analyseFile(models: PhotoModels, path: string): Promise<AnalysedFile> {
  const ms = { read: 0, decode: 0, detect: 0, align: 0, thumbs: 0, embed: 0 };
  const out: AnalysedFile = { path, size: null, hash: null, photo: null, faces: [], vectors: [], thumbs: [], error: null, ms };
  const t0 = performance.now();
  try {
    // The size limit comes first: an oversized file is neither read nor decoded.
    out.size = await photoFileSize(path);
    out.hash = await sha256File(path);
  } catch (err) {
    ms.read = performance.now() - t0;
    return { ...out, error: describeError(err) };
  }
  const t1 = performance.now();
  ms.read = t1 - t0;
  let photo;
  try {
    photo = await decodePhotoFile(path);
  } catch (err) {
    ms.decode = performance.now() - t1;
    return { ...out, error: describeError(err) };
  }
  ms.decode = performance.now() - t1;
  out.photo = { originalWidth: photo.originalWidth, originalHeight: photo.originalHeight, format: photo.format, takenAt: photo.takenAt };
  const analysed = await analysePhoto(models.detector, photo);
  ms.detect = analysed.ms.detect;
  ms.align = analysed.ms.align;
  ms.thumbs = analysed.ms.thumbs;
  const t2 = performance.now();
  out.vectors = analysed.crops.length > 0 ? await models.embedder.embed(analysed.crops) : [];
  ms.embed = performance.now() - t2;
  out.faces = analysed.faces;
  out.thumbs = analysed.thumbs;
  return out;
}
