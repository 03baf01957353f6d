/**
 * @file What the Suggestions screen's two queues ("Is this Leonard?" and "Are these the same
 * person?") share: the engine's list, newest read winning, minus what the user skipped this
 * session; an answer is a people operation (undoable, with a toast) that takes its item away.
 */
import { kith, type OpResult } from './api/client.ts';
import { newestWins } from './newest-wins.ts';
import { people } from './stores/people.svelte.ts';

export class ReviewQueue<T extends { key: string }> {
  all = $state<T[]>([]);
  loaded = $state(false);
  loadError = $state<string | null>(null);
  busy = $state(false);
  private skipped = $state<string[]>([]);
  /** The queue: items not skipped, in the engine's order. */
  queue = $derived(this.all.filter((x) => !this.skipped.includes(x.key)));
  current = $derived(this.queue[0] ?? null);
  private readonly read = newestWins();

  constructor(private readonly load: () => Promise<T[]>) {
    kith.on('changed', () => void this.refresh());
  }

  async refresh(): Promise<void> {
    await this.read(this.load, {
      value: (v) => {
        this.all = v;
        this.loadError = null;
      },
      error: (message) => (this.loadError = message),
      settled: () => (this.loaded = true),
    });
  }

  /**
   * Answer `item` with `op`, one at a time. When it is done the item leaves the queue, with any
   * other item `settled` says the answer also decided (the refresh that follows confirms it).
   */
  protected async answer(item: T, op: () => Promise<OpResult>, settled: (other: T) => boolean = () => false): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      if (await people.run(op)) this.all = this.all.filter((x) => x.key !== item.key && !settled(x));
    } finally {
      this.busy = false;
    }
  }

  skip(item: T): void {
    this.skipped = [...this.skipped, item.key];
  }

  /** Put skipped items back in the queue. */
  unskip(): void {
    this.skipped = [];
  }

  get skippedCount(): number {
    return this.skipped.length;
  }
}
