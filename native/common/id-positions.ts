/**
 * @file Where each id sits in a list of ids, for lookups made millions of times in a run (a
 * 100k-face k-NN graph names 4M faces).
 */

/**
 * Position of each id in `ids`, looked up millions of times per run: a flat array when the ids
 * are dense enough (they are SQLite row ids), a Map otherwise.
 */
export function idPositions(ids: ArrayLike<number>): (id: number) => number | undefined {
  let max = 0;
  let flat = true;
  for (let i = 0; i < ids.length && flat; i++) {
    const id = ids[i]!;
    if (!Number.isSafeInteger(id) || id < 0) flat = false;
    else if (id > max) max = id;
  }
  if (!flat || max > 8 * ids.length + 65_536) {
    const map = new Map<number, number>();
    for (let i = 0; i < ids.length; i++) map.set(ids[i]!, i);
    return (id) => map.get(id);
  }
  const at = new Int32Array(max + 1).fill(-1);
  for (let i = 0; i < ids.length; i++) at[ids[i]!] = i;
  return (id) => {
    const p = id >= 0 && id <= max ? at[id]! : -1; // a fractional id reads undefined: never a position
    return p >= 0 ? p : undefined;
  };
}
