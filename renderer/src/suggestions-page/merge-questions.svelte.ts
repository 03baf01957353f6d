/**
 * @file The "Are these the same person?" queue: the engine's merge questions, minus the ones the
 * user skipped this session. Yes merges (the named person's name wins), no keeps the two apart
 * for good; both are people operations (undoable, with a toast).
 */
import { api, kith, type MergeQuestion } from '../lib/api/client.ts';
import { newestWins } from '../lib/newest-wins.ts';
import { people } from '../lib/stores/people.svelte.ts';

class MergeQuestions {
  all = $state<MergeQuestion[]>([]);
  loaded = $state(false);
  loadError = $state<string | null>(null);
  busy = $state(false);
  private skipped = $state<string[]>([]);
  queue = $derived(this.all.filter((q) => !this.skipped.includes(q.key)));
  current = $derived(this.queue[0] ?? null);
  private readonly read = newestWins();

  constructor() {
    kith.on('changed', () => void this.refresh());
  }

  async refresh(): Promise<void> {
    await this.read(() => api.mergeQuestions(), {
      value: (v) => {
        this.all = v;
        this.loadError = null;
      },
      error: (message) => (this.loadError = message),
      settled: () => (this.loaded = true),
    });
  }

  private async decide(q: MergeQuestion, same: boolean): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const done = await people.run(() => (same ? api.mergePeople([q.fromId], q.intoId) : api.notSamePerson(q.fromId, q.intoId)));
      // After a merge, the person merged away is in no question any more (the refresh that the change triggers confirms it).
      const gone = (x: MergeQuestion) => same && (x.fromId === q.fromId || x.intoId === q.fromId);
      if (done) this.all = this.all.filter((x) => x.key !== q.key && !gone(x));
    } finally {
      this.busy = false;
    }
  }

  yes(q: MergeQuestion): Promise<void> {
    return this.decide(q, true);
  }

  no(q: MergeQuestion): Promise<void> {
    return this.decide(q, false);
  }

  skip(q: MergeQuestion): void {
    this.skipped = [...this.skipped, q.key];
  }

  unskip(): void {
    this.skipped = [];
  }

  get skippedCount(): number {
    return this.skipped.length;
  }
}

export const mergeQuestions = new MergeQuestions();
