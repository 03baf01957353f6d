/**
 * @file The "Are these the same person?" queue: the engine's merge questions, minus the ones the
 * user skipped this session. Yes merges (the named person's name wins), no keeps the two apart
 * for good; both are people operations (undoable, with a toast).
 */
import { api, type MergeQuestion } from '../lib/api/client.ts';
import { ReviewQueue } from '../lib/review-queue.svelte.ts';

class MergeQuestions extends ReviewQueue<MergeQuestion> {
  constructor() {
    super(() => api.mergeQuestions());
  }

  /** After a merge, the person merged away is in no question any more. */
  yes(q: MergeQuestion): Promise<void> {
    return this.answer(q, () => api.mergePeople([q.fromId], q.intoId), (x) => x.fromId === q.fromId || x.intoId === q.fromId);
  }

  no(q: MergeQuestion): Promise<void> {
    return this.answer(q, () => api.notSamePerson(q.fromId, q.intoId));
  }
}

export const mergeQuestions = new MergeQuestions();
