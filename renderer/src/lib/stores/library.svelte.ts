/**
 * @file The library as a whole: its folder, counts, errors, and starting or pausing an
 * indexing run. Refreshed when the engine says something changed or a run ended.
 */
import { api, kith, type LibraryStatus, type PhotoError } from '../api/client.ts';
import { progress } from './progress.svelte.ts';
import { toasts } from './toasts.svelte.ts';

class Library {
  status = $state<LibraryStatus | null>(null);
  errors = $state<PhotoError[]>([]);
  loadError = $state<string | null>(null);
  /** True before the first status answer. */
  loading = $derived(this.status === null && this.loadError === null);
  /** No folder chosen yet and nothing running: the first-run screen. */
  firstRun = $derived(this.status !== null && this.status.root === null && this.status.indexing === null && this.status.photos === 0);

  constructor() {
    kith.on('changed', () => void this.refresh());
    kith.on('progress', (p) => {
      if (p.phase === 'done' || p.phase === 'clustering') void this.refresh();
    });
  }

  async refresh(): Promise<void> {
    try {
      const [status, errors] = await Promise.all([api.status(), api.errors()]);
      this.status = status;
      this.errors = errors;
      this.loadError = null;
      progress.seed(status.indexing);
    } catch (err) {
      this.loadError = (err as Error).message;
    }
  }

  /** Index `folder` (the first time) or the library's folder again (resume). */
  async start(folder?: string): Promise<boolean> {
    try {
      const status = await api.startIndex(folder);
      this.status = status;
      progress.seed(status.indexing);
      toasts.clearErrors();
      return true;
    } catch (err) {
      toasts.error(err);
      return false;
    }
  }

  async pause(): Promise<void> {
    try {
      this.status = await api.pauseIndex();
    } catch (err) {
      toasts.error(err);
    }
  }
}

export const library = new Library();
