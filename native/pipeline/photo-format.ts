/**
 * @file Which photo format a file is, from its first bytes, before any decoder sees it. libvips
 * also renders SVG and reads a few scientific formats; a hostile SVG can take minutes of CPU,
 * so only the formats Kith lists (JPEG, PNG, WebP, TIFF, GIF, AVIF, HEIC/HEIF) get through,
 * and a recognisable other kind of file is named in the error.
 */

/** A format Kith decodes; 'avif' and 'heic' are both HEIF containers (AV1 and HEVC). */
export type PhotoFormat = 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif' | 'avif' | 'heic';

/** Bytes read from the start of a file to tell its format (enough for an ftyp box's brands). */
export const SNIFF_BYTES = 4096;

export const READABLE_FORMATS = 'JPEG, PNG, WebP, TIFF, GIF, AVIF and HEIC';

export type Sniffed = { format: PhotoFormat } | { notPhoto: string } | { unknown: true };

const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEVC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis']);
const HEIF_BRANDS = new Set(['mif1', 'msf1']);
const VIDEO_BRANDS = /^(isom|iso\d|mp4\d|mp41|mp42|avc1|qt {2}|M4V |M4A |3gp\d|3g2\w|dash|f4v )$/;

function startsWith(head: Buffer, ...bytes: number[]): boolean {
  return bytes.every((b, i) => head[i] === b);
}

/** Brands of an ISO base media file (HEIF, AVIF, MP4…), or null when it has no ftyp box first. */
function ftypBrands(head: Buffer): string[] | null {
  if (head.length < 16 || head.toString('latin1', 4, 8) !== 'ftyp') return null;
  const end = Math.min(head.readUInt32BE(0), head.length);
  const brands = [head.toString('latin1', 8, 12)];
  for (let at = 16; at + 4 <= end; at += 4) brands.push(head.toString('latin1', at, at + 4));
  return brands;
}

function sniffIsoMedia(brands: string[]): Sniffed {
  if (brands.some((b) => AVIF_BRANDS.has(b))) return { format: 'avif' };
  if (brands.some((b) => HEVC_BRANDS.has(b) || HEIF_BRANDS.has(b))) return { format: 'heic' };
  if (brands.some((b) => VIDEO_BRANDS.test(b))) return { notPhoto: 'videos are' };
  return { notPhoto: `ISO media files (brand "${brands[0]!.trim()}") are` };
}

/** Kinds libvips (or a user) might meet that are not photos Kith reads, for a clear error. */
function sniffNotPhoto(head: Buffer): string | null {
  const text = head.toString('latin1').replace(/^\xEF\xBB\xBF/, '').trimStart();
  if (/^<(\?xml|svg|!DOCTYPE svg|!--)/i.test(text) && /<svg[\s>]/i.test(text)) return 'SVG images are';
  if (startsWith(head, 0x1f, 0x8b)) return 'compressed (gzip) files are';
  if (text.startsWith('%PDF-')) return 'PDF documents are';
  if (text.startsWith('8BPS')) return 'Photoshop documents are';
  if (startsWith(head, 0xff, 0x0a) || head.toString('latin1', 4, 8) === 'JXL ') return 'JPEG XL images are';
  if (head.toString('latin1', 4, 8) === 'jP  ' || startsWith(head, 0xff, 0x4f, 0xff, 0x51)) return 'JPEG 2000 images are';
  if (/^P[1-7]\s/.test(text)) return 'Netpbm images are';
  if (text.startsWith('SIMPLE  =')) return 'FITS images are';
  if (text.startsWith('#?RADIANCE') || text.startsWith('#?RGBE')) return 'Radiance HDR images are';
  if (startsWith(head, 0x08, 0xf2, 0xa6, 0xb6) || startsWith(head, 0xb6, 0xa6, 0xf2, 0x08)) return 'libvips images are';
  return null;
}

/** The format of a file from its first SNIFF_BYTES bytes. */
export function sniffFormat(head: Buffer): Sniffed {
  if (startsWith(head, 0xff, 0xd8, 0xff)) return { format: 'jpeg' };
  if (startsWith(head, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return { format: 'png' };
  const text4 = head.toString('latin1', 0, 4);
  if (text4 === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') return { format: 'webp' };
  if (text4 === 'GIF8' && /^GIF8[79]a/.test(head.toString('latin1', 0, 6))) return { format: 'gif' };
  // Classic TIFF (42) and BigTIFF (43), either byte order.
  if (text4 === 'II*\0' || text4 === 'MM\0*' || text4 === 'II+\0' || text4 === 'MM\0+') return { format: 'tiff' };
  const brands = ftypBrands(head);
  if (brands) return sniffIsoMedia(brands);
  const other = sniffNotPhoto(head);
  return other ? { notPhoto: other } : { unknown: true };
}
