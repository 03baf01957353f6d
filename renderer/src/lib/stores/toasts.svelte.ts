/**
 * @file Short messages at the bottom of the window: what an operation did (with Undo), what
 * was undone, what went wrong. Screens push; the toast list shows and expires them.
 */
export interface Toast {
  id: number;
  message: string;
  tone: 'info' | 'error';
  action?: { label: string; run: () => void };
}

const LIFETIME_MS = 7000;

class Toasts {
  items = $state<Toast[]>([]);
  private next = 1;

  show(message: string, opts: { tone?: Toast['tone']; action?: Toast['action'] } = {}): number {
    const toast: Toast = { id: this.next++, message, tone: opts.tone ?? 'info', action: opts.action };
    // The newest toast replaces the others (its Undo undoes the newest operation, so an older
    // toast's Undo would mislead); one earlier error stays in view.
    this.items = [...this.items.filter((t) => t.tone === 'error' && t !== toast).slice(-1), toast];
    setTimeout(() => this.dismiss(toast.id), opts.tone === 'error' ? LIFETIME_MS * 2 : LIFETIME_MS);
    return toast.id;
  }

  error(err: unknown): void {
    this.show(err instanceof Error ? err.message : String(err), { tone: 'error' });
  }

  /** Errors that no longer hold (a failed start, once a run is going) go away. */
  clearErrors(): void {
    this.items = this.items.filter((t) => t.tone !== 'error');
  }

  dismiss(id: number): void {
    this.items = this.items.filter((t) => t.id !== id);
  }
}

export const toasts = new Toasts();
