/**
 * @file Is a folder on a network share? Network file systems (NFS, SMB/CIFS, sshfs…) send no
 * change events for changes made on other machines, so a watched share would look still
 * while it fills up: such folders are looked at again on a timer instead. On Linux the answer
 * is the mount's file system type (/proc/self/mountinfo, else statfs's magic number); other
 * systems report local folders (their watchers see local changes on mounted shares too).
 */
import { readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { resolve, sep } from 'node:path';

export type FolderKind = 'local' | 'network';
export type FolderKindOf = (path: string) => Promise<FolderKind>;

/** Mount types of network file systems (mountinfo's names). */
const NETWORK_TYPES = new Set(['nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', '9p', 'afs', 'ceph', 'glusterfs', 'davfs', 'fuse.sshfs', 'fuse.rclone', 'fuse.glusterfs', 'fuse.davfs2', 'fuse.s3fs', 'fuse.gcsfuse']);

/** statfs f_type magic numbers of network file systems (linux/magic.h). */
const NETWORK_MAGIC = new Set([0x6969 /* NFS */, 0x517b /* SMB */, 0xff534d42 /* CIFS */, 0xfe534d42 /* SMB2 */, 0x564c /* NCP */, 0x01021997 /* 9P */]);

/** Mount points and their types from mountinfo text (mount point is field 5, type follows " - "). */
export function parseMountinfo(text: string): Array<{ mountPoint: string; type: string }> {
  const mounts: Array<{ mountPoint: string; type: string }> = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    const mountPoint = left?.split(' ')[4];
    const type = right?.split(' ')[0];
    // Spaces and other odd bytes in paths are written as octal escapes (\040).
    if (mountPoint && type) mounts.push({ mountPoint: mountPoint.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))), type });
  }
  return mounts;
}

/** The type of the mount holding `path` (the longest mount point above it), from mountinfo text. */
export function mountTypeOf(path: string, mountinfo: string): string | null {
  let best: { mountPoint: string; type: string } | null = null;
  for (const m of parseMountinfo(mountinfo)) {
    const inside = path === m.mountPoint || m.mountPoint === '/' || path.startsWith(m.mountPoint.endsWith(sep) ? m.mountPoint : m.mountPoint + sep);
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best?.type ?? null;
}

/** Where the folder lies, as far as this system can tell. */
export async function folderKind(path: string): Promise<FolderKind> {
  if (process.platform !== 'linux') return 'local';
  const abs = resolve(path);
  try {
    const type = mountTypeOf(abs, readFileSync('/proc/self/mountinfo', 'utf8'));
    if (type) return NETWORK_TYPES.has(type) ? 'network' : 'local';
  } catch {
    // No /proc (a container without it): the file system's magic number says enough.
  }
  try {
    return NETWORK_MAGIC.has((await statfs(abs)).type) ? 'network' : 'local';
  } catch {
    return 'local';
  }
}
