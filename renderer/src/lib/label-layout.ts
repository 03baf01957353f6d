/**
 * @file Where the name labels of a photo's faces go so that none covers another: in a group
 * photo shown in a small window the faces sit close together and their labels, all centred
 * above their boxes, would collide. Each label tries above its box, then below, then further
 * out on either side row by row, and takes the first place that is free. Pure arithmetic, in
 * the displayed photo's pixels, so it is the same in every browser and testable without one.
 */

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Space kept between a box and its label, and between labels. */
const GAP = 3;
/** How many label rows away from its box a label may be pushed before it gives up. */
const MAX_ROWS = 6;

function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/**
 * Top-left corner of each label (same order as `boxes`), given each label's size and the
 * photo's size: labels stay inside it horizontally, and inside it vertically where any free
 * place is. Labels are placed in order of their box's top edge, so the faces at the back of a
 * group keep the places above them.
 */
export function placeLabels(
  boxes: readonly Rect[],
  sizes: ReadonlyArray<{ w: number; h: number }>,
  width: number,
  height: number,
): Array<{ x: number; y: number }> {
  const placed: Rect[] = [];
  const out: Array<{ x: number; y: number }> = boxes.map(() => ({ x: 0, y: 0 }));
  const order = boxes.map((_, i) => i).sort((a, b) => boxes[a]!.y - boxes[b]!.y || boxes[a]!.x - boxes[b]!.x);
  for (const i of order) {
    const box = boxes[i]!;
    const { w, h } = sizes[i]!;
    const x = Math.max(0, Math.min(width - w, box.x + box.w / 2 - w / 2));
    const above = box.y - GAP - h;
    const below = box.y + box.h + GAP;
    const step = h + GAP;
    const candidates: number[] = [];
    for (let row = 0; row < MAX_ROWS; row++) candidates.push(above - row * step, below + row * step);
    const free = candidates
      .map((y) => ({ x, y, w, h }))
      .filter((r) => !placed.some((p) => overlaps(p, { x: r.x - GAP, y: r.y - GAP, w: r.w + 2 * GAP, h: r.h + 2 * GAP })));
    const spot = free.find((r) => r.y >= 0 && r.y + h <= height) ?? free[0] ?? { x, y: above, w, h };
    placed.push(spot);
    out[i] = { x: spot.x, y: spot.y };
  }
  return out;
}
