/**
 * @file The "Is this Leonard?" review queue: the engine's suggestions, minus the ones the user
 * skipped this session. Accepting or rejecting goes through the people operations (undoable).
 */
import { api, kith, type Suggestion } from '../api/client.ts';
import { people } from './people.svelte.ts';
import { toasts } from './toasts.svelte.ts';
import { newestWins } from '../newest-wins.ts';

/** Suggestions at or above this confidence can be accepted all at once. */
export const HIGH_CONFIDENCE = 0.9;

class Suggestions {
  all = $state<Suggestion[]>([]);
  loaded = $state(false);
  loadError = $state<string | null>(null);
  busy = $state(false);
  private skipped = $state<string[]>([]);
  /** The queue: suggestions not skipped, in the engine's order. */
  queue = $derived(this.all.filter((s) => !this.skipped.includes(s.key)));
  current = $derived(this.queue[0] ?? null);
  highConfidence = $derived(this.all.filter((s) => s.confidence >= HIGH_CONFIDENCE));
  private readonly read = newestWins();

  constructor() {
    kith.on('changed', () => void this.refresh());
  }

  async refresh(): Promise<void> {
    await this.read(() => api.suggestions(), {
      value: (v) => {
        this.all = v;
        this.loadError = null;
      },
      error: (message) => (this.loadError = message),
      settled: () => (this.loaded = true),
    });
  }


  private async decide(s: Suggestion, accept: boolean): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const done = await people.run(() => (accept ? api.acceptSuggestion(s.key) : api.rejectSuggestion(s.key)));
      if (done) this.all = this.all.filter((x) => x.key !== s.key);
    } finally {
      this.busy = false;
    }
  }

  accept(s: Suggestion): Promise<void> {
    return this.decide(s, true);
  }

  reject(s: Suggestion): Promise<void> {
    return this.decide(s, false);
  }

  skip(s: Suggestion): void {
    this.skipped = [...this.skipped, s.key];
  }

  /** Put skipped suggestions back in the queue. */
  unskip(): void {
    this.skipped = [];
  }

  get skippedCount(): number {
    return this.skipped.length;
  }

  async acceptAllHighConfidence(): Promise<void> {
    const batch = this.highConfidence;
    if (batch.length === 0 || this.busy) return;
    this.busy = true;
    let accepted = 0;
    try {
      for (const s of batch) {
        try {
          await api.acceptSuggestion(s.key);
          accepted++;
        } catch (err) {
          toasts.error(err);
        }
      }
    } finally {
      this.busy = false;
      toasts.show(`Accepted ${accepted} suggestion${accepted === 1 ? '' : 's'}`);
      void this.refresh();
    }
  }
}

export const suggestions = new Suggestions();
