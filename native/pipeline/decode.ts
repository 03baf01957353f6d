/**
 * @file Turns a photo (a file, or uploaded bytes) into upright RGB pixels at a bounded working
 * size. Every guard runs before the expensive work: the file size from stat, the format from
 * the first bytes (only the formats Kith lists reach a decoder; libvips would render SVG), the
 * pixel count from the header. libvips (sharp) reads files from their path, shrinking on load,
 * under a timeout and a cap on how many decodes share libuv's thread pool. HEVC-coded HEIC,
 * which libvips cannot decode, goes through heic-decode after its header size is checked.
 */
import { open, readFile, stat } from 'node:fs/promises';
import exifr from 'exifr';
import heicDecode from 'heic-decode';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { READABLE_FORMATS, SNIFF_BYTES, sniffFormat, type PhotoFormat } from './photo-format.ts';

/** Largest photo Kith accepts, in pixels (a 100 MP camera fits; a 30000² bomb does not). */
export const MAX_INPUT_PIXELS = 150_000_000;
/** Longest side of the working image kept in memory for detection, alignment and thumbnails. */
export const WORKING_MAX_SIDE = 2048;
/**
 * Largest file Kith opens as a photo. Files are streamed, never read whole, so this bounds
 * time, not memory: the biggest real photo file is an uncompressed 16-bit TIFF at the pixel
 * limit (150 MP × 6 bytes ≈ 860 MiB); camera and phone JPEG, HEIC and RAW-converted files are
 * 5–100 MB.
 */
export const MAX_FILE_BYTES = 1024 ** 3;
/** heic-decode needs the whole file in memory; real HEIC files are 1–30 MB. */
export const MAX_HEIC_BYTES = 256 * 1024 ** 2;
/**
 * libvips gives up on a decode after this long. A 150 MP PNG, the slowest real case, takes a
 * few seconds; a hostile file that would run for minutes ends here with a clear error.
 */
export const DECODE_TIMEOUT_SECONDS = 30;

export interface DecodedPhoto {
  /** Packed RGB, `width * height * 3` bytes, EXIF orientation applied. */
  rgb: Buffer;
  width: number;
  height: number;
  /** Upright size of the original file; `width / originalWidth` is the working scale. */
  originalWidth: number;
  originalHeight: number;
  format: string;
  /** Capture time from EXIF (DateTimeOriginal, else CreateDate) as ISO text, or null. */
  takenAt: string | null;
}

export interface DecodeOptions {
  /** Overrides DECODE_TIMEOUT_SECONDS (whole seconds, ≥ 1). */
  timeoutSeconds?: number;
}

/** A photo that cannot be decoded; `message` is written for the user. */
export class DecodeError extends Error {}

/** What libvips calls each format it decodes for Kith (AVIF is read by its HEIF loader). */
const LIBVIPS_NAME: Record<Exclude<PhotoFormat, 'heic'>, string> = {
  jpeg: 'jpeg',
  png: 'png',
  webp: 'webp',
  tiff: 'tiff',
  gif: 'gif',
  avif: 'heif',
};

/**
 * Runs at most `slots` tasks at once. libuv's pool (4 threads unless UV_THREADPOOL_SIZE says
 * otherwise) also serves file reads; decodes may hold all but two threads, so even stuck
 * decodes leave the rest of Kith reading files and answering.
 */
function gate(slots: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active < slots) active++;
    else await new Promise<void>((go) => waiting.push(go));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
const inDecodeSlot = gate(Math.max(1, (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 2));

function formatBytes(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GB` : `${Math.round(n / 1024 ** 2)} MB`;
}

function checkSize(bytes: number, limit = MAX_FILE_BYTES, what = 'a photo'): void {
  if (bytes === 0) throw new DecodeError('empty file (0 bytes)');
  if (bytes > limit) throw new DecodeError(`file too large: ${formatBytes(bytes)} is over the ${formatBytes(limit)} limit for ${what}`);
}

function checkPixels(width: number, height: number): void {
  if (width * height > MAX_INPUT_PIXELS) {
    throw new DecodeError(`image too large: ${width}×${height} exceeds ${MAX_INPUT_PIXELS / 1e6} megapixels`);
  }
}

function photoFormatOf(head: Buffer): PhotoFormat {
  const sniffed = sniffFormat(head);
  if ('format' in sniffed) return sniffed.format;
  if ('notPhoto' in sniffed) throw new DecodeError(`not a photo: ${sniffed.notPhoto} not supported (Kith reads ${READABLE_FORMATS})`);
  throw new DecodeError(`not a readable image: unrecognised format (Kith reads ${READABLE_FORMATS})`);
}

/**
 * Size of the photo file at `path`, checked against the limits without reading it. Throws
 * DecodeError (empty, too large, not a file) or the file system's error (ENOENT, EACCES).
 */
export async function photoFileSize(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isFile()) throw new DecodeError('not a file');
  checkSize(info.size);
  return info.size;
}

/** Size and first bytes of a file, from one open handle. */
async function readHead(path: string): Promise<{ size: number; head: Buffer }> {
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new DecodeError('not a file');
    checkSize(info.size);
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(SNIFF_BYTES), 0, SNIFF_BYTES, 0);
    return { size: info.size, head: buffer.subarray(0, bytesRead) };
  } finally {
    await handle.close();
  }
}

/** exifr reads only the head of a file given its path. */
async function readTakenAt(input: string | Buffer): Promise<string | null> {
  try {
    const tags = (await exifr.parse(input, ['DateTimeOriginal', 'CreateDate'])) as
      | { DateTimeOriginal?: unknown; CreateDate?: unknown }
      | undefined;
    const when = tags?.DateTimeOriginal ?? tags?.CreateDate;
    return when instanceof Date && !Number.isNaN(when.getTime()) ? when.toISOString() : null;
  } catch {
    return null; // EXIF is optional; a broken EXIF block must not fail the photo.
  }
}

async function toWorkingRgb(image: Sharp, format: string, upright: { width: number; height: number }, takenAt: string | null) {
  const { data, info } = await image
    .resize({ width: WORKING_MAX_SIDE, height: WORKING_MAX_SIDE, fit: 'inside', withoutEnlargement: true })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new DecodeError(`unexpected ${info.channels}-channel output`);
  const photo: DecodedPhoto = {
    rgb: data,
    width: info.width,
    height: info.height,
    originalWidth: upright.width,
    originalHeight: upright.height,
    format,
    takenAt,
  };
  return photo;
}

/** libvips decodes a path (streamed from disk) or bytes; the format was sniffed already. */
async function decodeWithSharp(
  input: string | Buffer,
  format: Exclude<PhotoFormat, 'heic'>,
  takenAt: string | null,
  opts: DecodeOptions,
): Promise<DecodedPhoto> {
  let meta: Metadata;
  try {
    meta = await inDecodeSlot(() => sharp(input, { limitInputPixels: false }).metadata());
  } catch (err) {
    throw new DecodeError(`not a readable image: ${(err as Error).message}`);
  }
  // libvips chooses its loader from the content again: it must be the one the bytes named.
  if (meta.format !== LIBVIPS_NAME[format]) throw new DecodeError(`not a readable image: looks like ${format}, reads as ${meta.format}`);
  checkPixels(meta.width, meta.height);
  const seconds = opts.timeoutSeconds ?? DECODE_TIMEOUT_SECONDS;
  try {
    const image = sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, autoOrient: true, failOn: 'error' }).timeout({ seconds });
    return await inDecodeSlot(() => toWorkingRgb(image, meta.format, meta.autoOrient, takenAt));
  } catch (err) {
    const message = (err as Error).message;
    if (message.startsWith('timeout:')) throw new DecodeError(`gave up decoding ${meta.format} after ${seconds} s: the file is damaged or hostile`);
    throw new DecodeError(`cannot decode ${meta.format}: ${message}`);
  }
}

/** heic-decode parses the container first, so the size is checked before any pixel is decoded. */
async function decodeHeic(bytes: Buffer, takenAt: string | null): Promise<DecodedPhoto> {
  checkSize(bytes.length, MAX_HEIC_BYTES, 'HEIC');
  let decoded: Awaited<ReturnType<typeof heicDecode>>;
  try {
    const images = await heicDecode.all({ buffer: bytes });
    try {
      const first = images[0]!;
      checkPixels(first.width, first.height);
      decoded = await first.decode();
    } finally {
      images.dispose();
    }
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new DecodeError(`cannot decode heic: ${(err as Error).message ?? String(err)}`);
  }
  // heic-decode applies the HEIF transform (irot/imir) itself, so the pixels are already upright.
  const image = sharp(Buffer.from(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength), {
    raw: { width: decoded.width, height: decoded.height, channels: 4 },
    limitInputPixels: MAX_INPUT_PIXELS,
  });
  return inDecodeSlot(() => toWorkingRgb(image, 'heic', { width: decoded.width, height: decoded.height }, takenAt));
}

/** Decode uploaded photo bytes; throws DecodeError with a user-readable message on any failure. */
export async function decodePhoto(bytes: Buffer, opts: DecodeOptions = {}): Promise<DecodedPhoto> {
  checkSize(bytes.length);
  const format = photoFormatOf(bytes.subarray(0, SNIFF_BYTES));
  const takenAt = await readTakenAt(bytes);
  if (format === 'heic') return decodeHeic(bytes, takenAt);
  return decodeWithSharp(bytes, format, takenAt, opts);
}

/**
 * Decode the photo file at `path` without reading it whole. Throws DecodeError with a
 * user-readable message, or the file system's error (ENOENT when the file vanished, EACCES).
 */
export async function decodePhotoFile(path: string, opts: DecodeOptions = {}): Promise<DecodedPhoto> {
  const { size, head } = await readHead(path);
  const format = photoFormatOf(head);
  if (format === 'heic') {
    checkSize(size, MAX_HEIC_BYTES, 'HEIC');
    return decodeHeic(await readFile(path), await readTakenAt(path));
  }
  try {
    return await decodeWithSharp(path, format, await readTakenAt(path), opts);
  } catch (err) {
    await stat(path); // A file gone since it was opened reports that (ENOENT), not libvips's words.
    throw err;
  }
}
