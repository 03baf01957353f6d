/**
 * @file The library's folders: every photo of the library lies inside one of them. Kept in
 * the order they were added (the first is the one a new library was made with).
 */
import type { Db } from './db.ts';

export class Folders {
  private readonly all;
  private readonly insert;
  private readonly drop;

  constructor(db: Db) {
    this.all = db.prepare<[], { path: string }>(`SELECT path FROM folders ORDER BY id`).pluck();
    this.insert = db.prepare(`INSERT INTO folders (path) VALUES (?) ON CONFLICT (path) DO NOTHING`);
    this.drop = db.prepare(`DELETE FROM folders WHERE path = ?`);
  }

  list(): string[] {
    return this.all.all() as unknown as string[];
  }

  /** True when it was not a library folder yet. */
  add(path: string): boolean {
    return this.insert.run(path).changes > 0;
  }

  /** True when it was a library folder. */
  remove(path: string): boolean {
    return this.drop.run(path).changes > 0;
  }
}
