/**
 * @file Live indexing progress, fed only by the engine's pushed `progress` events (never
 * polled). `current` is null when no run is going.
 */
import { kith, type IndexProgress } from '../api/client.ts';

class Progress {
  current = $state<IndexProgress | null>(null);

  constructor() {
    kith.on('progress', (p) => (this.current = p.phase === 'done' ? null : p));
  }

  /** Seed from a status answer (a run may already be going when the page opens). */
  seed(p: IndexProgress | null): void {
    this.current = p;
  }
}

export const progress = new Progress();
