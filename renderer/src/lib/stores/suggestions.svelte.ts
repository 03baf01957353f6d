/**
 * @file The "Is this Leonard?" review queue: the engine's suggestions, minus the ones the user
 * skipped this session. Accepting or rejecting goes through the people operations (undoable).
 */
import { api, type Suggestion } from '../api/client.ts';
import { ReviewQueue } from '../review-queue.svelte.ts';
import { toasts } from './toasts.svelte.ts';

/** Suggestions at or above this confidence can be accepted all at once. */
export const HIGH_CONFIDENCE = 0.9;

class Suggestions extends ReviewQueue<Suggestion> {
  highConfidence = $derived(this.all.filter((s) => s.confidence >= HIGH_CONFIDENCE));

  constructor() {
    super(() => api.suggestions());
  }

  accept(s: Suggestion): Promise<void> {
    return this.answer(s, () => api.acceptSuggestion(s.key));
  }

  reject(s: Suggestion): Promise<void> {
    return this.answer(s, () => api.rejectSuggestion(s.key));
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
