/**
 * @file The people list and every people operation (name, merge, move, reject, hide, cover,
 * undo). Operations go through `run`, which toasts what was done with an Undo action; the
 * list itself refreshes from the engine's pushed `changed` events.
 */
import { api, kith, type OpResult, type PersonCard } from '../api/client.ts';
import { toasts } from './toasts.svelte.ts';
import { newestWins } from '../newest-wins.ts';

/** Where faces go: an existing person, or a new one with this name. */
export type PersonChoice = { personId: number; name: string | null } | { newName: string };

class People {
  list = $state<PersonCard[]>([]);
  loaded = $state(false);
  loadError = $state<string | null>(null);
  showHidden = $state(false);
  /** People shown in the grid: hidden ones only when asked for. */
  visible = $derived(this.showHidden ? this.list : this.list.filter((p) => !p.hidden));
  hiddenCount = $derived(this.list.filter((p) => p.hidden).length);
  named = $derived(this.list.filter((p) => p.name !== null));
  private readonly read = newestWins();

  constructor() {
    kith.on('changed', () => void this.refresh());
  }

  async refresh(): Promise<void> {
    await this.read(() => api.people(true), {
      value: (v) => {
        this.list = v;
        this.loadError = null;
      },
      error: (message) => (this.loadError = message),
      settled: () => (this.loaded = true),
    });
  }


  byId(id: number): PersonCard | undefined {
    return this.list.find((p) => p.id === id);
  }

  /** Display name: the person's name, or "Unnamed". */
  label(p: { name: string | null } | undefined): string {
    return p?.name ?? 'Unnamed';
  }

  /** Run one people operation: toast its label with Undo, or its error. Null when it failed. */
  async run(op: () => Promise<OpResult>): Promise<OpResult | null> {
    try {
      const result = await op();
      if (result.conflictWith === undefined) toasts.show(result.label, { action: { label: 'Undo', run: () => void this.undo() } });
      return result;
    } catch (err) {
      toasts.error(err);
      return null;
    }
  }

  /** Move faces to the chosen person (or a new one). */
  moveFaces(faceIds: number[], to: PersonChoice | 'new'): Promise<OpResult | null> {
    if (to === 'new') return this.run(() => api.moveFaces(faceIds, null));
    if ('newName' in to) return this.run(() => api.moveFaces(faceIds, null, to.newName));
    return this.run(() => api.moveFaces(faceIds, to.personId));
  }

  async undo(): Promise<void> {
    try {
      const result = await api.undo();
      toasts.show(result ? result.label : 'Nothing to undo');
    } catch (err) {
      toasts.error(err);
    }
  }
}

export const people = new People();
