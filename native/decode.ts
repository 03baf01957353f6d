/**
 * @file Turns photo bytes into upright RGB pixels at a bounded working size. libvips (sharp)
 * does the work, shrinking on load; HEVC-coded HEIC, which libvips cannot decode, goes
 * through heic-decode first. The pixel limit guards against decompression bombs.
 */
import exifr from 'exifr';
import heicDecode from 'heic-decode';
import sharp, { type Metadata, type Sharp } from 'sharp';

/** Largest photo Kith accepts, in pixels (a 100 MP camera fits; a 30000² bomb does not). */
export const MAX_INPUT_PIXELS = 150_000_000;
/** Longest side of the working image kept in memory for detection, alignment and thumbnails. */
export const WORKING_MAX_SIDE = 2048;

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

/** A photo that cannot be decoded; `message` is written for the user. */
export class DecodeError extends Error {}

const HEIF_BRANDS = /^....ftyp(heic|heix|hevc|hevx|heim|heis|mif1|msf1)/s;

function isHevcHeif(bytes: Buffer): boolean {
  return HEIF_BRANDS.test(bytes.subarray(0, 12).toString('latin1'));
}

async function readTakenAt(bytes: Buffer): Promise<string | null> {
  try {
    const tags = (await exifr.parse(bytes, ['DateTimeOriginal', 'CreateDate'])) as
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

function checkPixels(width: number, height: number): void {
  if (width * height > MAX_INPUT_PIXELS) {
    throw new DecodeError(`image too large: ${width}×${height} exceeds ${MAX_INPUT_PIXELS / 1e6} megapixels`);
  }
}

/** Decode photo bytes; throws DecodeError with a user-readable message on any failure. */
export async function decodePhoto(bytes: Buffer): Promise<DecodedPhoto> {
  if (bytes.length === 0) throw new DecodeError('empty file (0 bytes)');
  const takenAt = await readTakenAt(bytes);
  if (isHevcHeif(bytes)) return decodeHeic(bytes, takenAt);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new DecodeError(`not a readable image: ${(err as Error).message}`);
  }
  checkPixels(meta.width, meta.height);
  try {
    const image = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, autoOrient: true, failOn: 'error' });
    return await toWorkingRgb(image, meta.format, meta.autoOrient, takenAt);
  } catch (err) {
    throw new DecodeError(`cannot decode ${meta.format}: ${(err as Error).message}`);
  }
}

async function decodeHeic(bytes: Buffer, takenAt: string | null): Promise<DecodedPhoto> {
  let decoded;
  try {
    decoded = await heicDecode({ buffer: bytes });
  } catch (err) {
    throw new DecodeError(`cannot decode heic: ${(err as Error).message ?? String(err)}`);
  }
  checkPixels(decoded.width, decoded.height);
  // heic-decode applies the HEIF transform (irot/imir) itself, so the pixels are already upright.
  const image = sharp(Buffer.from(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength), {
    raw: { width: decoded.width, height: decoded.height, channels: 4 },
    limitInputPixels: MAX_INPUT_PIXELS,
  });
  return toWorkingRgb(image, 'heic', { width: decoded.width, height: decoded.height }, takenAt);
}
