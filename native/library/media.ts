/**
 * @file The files behind photo and thumbnail URLs, for every transport: only faces and indexed
 * photos of this library, whose real path is inside their library folder (a symlink leading out
 * is refused), typed by the format the decoder recognised. Thumbnails are derived: a missing one
 * is cut again from its photo.
 */
import { existsSync } from 'node:fs';
import { isWithin, openInside, realFileInside, type MediaFile } from '../common/path-inside.ts';
import { UserError } from '../common/user-error.ts';
import { toOriginal } from '../pipeline/analyse.ts';
import { DecodeError, MAX_FILE_BYTES, decodePhoto, type DecodedPhoto } from '../pipeline/decode.ts';
import { faceThumbPath, renderFaceThumb, saveFaceThumbs, thumbsDirFor } from '../pipeline/thumbs.ts';
import type { Store } from '../store/index.ts';

const PHOTO_TYPES: Record<string, string> = {
  jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', tiff: 'image/tiff', avif: 'image/avif', heif: 'image/heif', heic: 'image/heic',
};

export class MediaService {
  constructor(private readonly store: Store) {}

  /** File behind a thumbnail or photo URL, or null. */
  async resource(kind: 'thumb' | 'photo', id: number): Promise<MediaFile | null> {
    if (kind === 'thumb') {
      const owner = this.store.views.photoOfFace(id);
      if (!owner) return null;
      const root = thumbsDirFor(this.store.path);
      const path = faceThumbPath(this.store.path, id);
      if (!existsSync(path) && !(await this.rebuildThumb(id, owner.photoId))) return null;
      const real = await realFileInside(root, path);
      return real ? { path: real, type: 'image/jpeg', root } : null;
    }
    const photo = this.store.photos.getById(id);
    // Inside the library folder the photo was found in: a symlink into another folder is refused too.
    const root = photo && this.store.folders.list().find((f) => isWithin(f, photo.path));
    const type = PHOTO_TYPES[photo?.format ?? ''];
    if (!photo || photo.status !== 'done' || !type || !root) return null;
    const real = await realFileInside(root, photo.path);
    return real ? { path: real, type, root } : null;
  }

  /** The photo as the viewer shows it, decoded; a UserError when it is not servable now. */
  async readPhoto(photoId: number): Promise<DecodedPhoto> {
    const photo = await this.openPhoto(photoId);
    if (photo === 'gone') throw new UserError(`photo ${photoId} is not in the library folder now`);
    if (photo === 'too-large') throw new UserError('the photo is too large to read');
    return photo;
  }

  /** Decoded only when it is servable and not larger than the decoder takes (a file swapped for a huge one is refused unread). */
  private async openPhoto(photoId: number): Promise<DecodedPhoto | 'gone' | 'too-large'> {
    const source = await this.resource('photo', photoId);
    const file = source && (await openInside(source.root, source.path));
    if (!file) return 'gone';
    try {
      if (file.size > MAX_FILE_BYTES) return 'too-large';
      return await decodePhoto(await file.handle.readFile());
    } finally {
      await file.handle.close();
    }
  }

  /** False when the thumbnail cannot be made again (its photo gone, changed or too large). */
  private async rebuildThumb(faceId: number, photoId: number): Promise<boolean> {
    const face = this.store.faces.get(faceId);
    if (!face) return false;
    let photo;
    try {
      photo = await this.openPhoto(photoId);
    } catch (err) {
      if (err instanceof DecodeError) return false; // the file changed since it was indexed
      throw err;
    }
    if (typeof photo === 'string') return false;
    const { sx, sy } = toOriginal(photo);
    const box = { x1: face.box.x1 / sx, y1: face.box.y1 / sy, x2: face.box.x2 / sx, y2: face.box.y2 / sy };
    await saveFaceThumbs(this.store.path, [{ faceId, jpeg: await renderFaceThumb(photo, box) }]);
    return true;
  }
}
