/**
 * @file Where a library database lives when the user does not say: the platform's per-user
 * application-data folder, never inside the photo folder (Kith does not write there).
 */
import { homedir } from 'node:os';
import { join, posix, win32 } from 'node:path';

/**
 * An environment folder only when it is set to an absolute path. Empty or relative values are
 * ignored (the XDG spec says so): `XDG_DATA_HOME=` would otherwise put the library in
 * `./Kith/`, wherever the command happens to run, perhaps inside the photo folder.
 */
function absoluteFolder(value: string | undefined, platform: NodeJS.Platform): string | undefined {
  return value && (platform === 'win32' ? win32 : posix).isAbsolute(value) ? value : undefined;
}

export function defaultDbPath(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.KITH_DB) return env.KITH_DB;
  const home = homedir();
  const base =
    platform === 'win32'
      ? (absoluteFolder(env.APPDATA, platform) ?? join(home, 'AppData', 'Roaming'))
      : platform === 'darwin'
        ? join(home, 'Library', 'Application Support')
        : (absoluteFolder(env.XDG_DATA_HOME, platform) ?? join(home, '.local', 'share'));
  return join(base, 'Kith', 'library.db');
}
