/**
 * @file Arrow-key moves across a wrapping grid of cards laid out by CSS (auto-fill columns), from
 * where the cards actually are on screen: Left/Right step in reading order, Up/Down go to the
 * nearest card in the row above or below, Home/End to the first or last.
 */

export interface CardRect {
  left: number;
  top: number;
  width: number;
}

export const GRID_KEYS = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End']);

/** Index of the card a key moves to from card `from` (itself at an edge); -1 for other keys. */
export function gridStep(cards: readonly CardRect[], from: number, key: string): number {
  const last = cards.length - 1;
  switch (key) {
    case 'ArrowLeft':
      return Math.max(0, from - 1);
    case 'ArrowRight':
      return Math.min(last, from + 1);
    case 'Home':
      return 0;
    case 'End':
      return last;
    case 'ArrowUp':
    case 'ArrowDown': {
      const here = cards[from]!;
      const centre = here.left + here.width / 2;
      const rows = [...new Set(cards.map((c) => Math.round(c.top)))].sort((a, b) => a - b);
      const row = rows.indexOf(Math.round(here.top)) + (key === 'ArrowUp' ? -1 : 1);
      if (row < 0 || row >= rows.length) return from;
      let best = from;
      let bestDistance = Infinity;
      cards.forEach((c, i) => {
        if (Math.round(c.top) !== rows[row]) return;
        const d = Math.abs(c.left + c.width / 2 - centre);
        if (d < bestDistance) [best, bestDistance] = [i, d];
      });
      return best;
    }
    default:
      return -1;
  }
}
