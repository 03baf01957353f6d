/**
 * @file Which faces the user has selected in a face grid: click toggles, shift-click selects
 * a range from the last click, a drag adds a rectangle. Holds face ids, not positions, so a
 * refresh that reorders the grid keeps what was chosen.
 */
import { SvelteSet } from 'svelte/reactivity';

export class FaceSelection {
  readonly ids = new SvelteSet<number>();
  /** Index of the last plain click, where a shift-click range starts. */
  anchor = $state<number | null>(null);
  size = $derived(this.ids.size);

  has(id: number): boolean {
    return this.ids.has(id);
  }

  toggle(index: number, id: number): void {
    if (this.ids.has(id)) this.ids.delete(id);
    else this.ids.add(id);
    this.anchor = index;
  }

  /** Select the ids (a range or a drag rectangle), keeping what was already selected. */
  add(ids: Iterable<number>): void {
    for (const id of ids) this.ids.add(id);
  }

  clear(): void {
    this.ids.clear();
    this.anchor = null;
  }

  list(): number[] {
    return [...this.ids];
  }
}
