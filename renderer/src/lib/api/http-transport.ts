/**
 * @file The browser transport over `kith serve`: POST /api/<method>, Server-Sent Events for
 * progress and changes, media URLs that carry the per-launch token. The token arrives once in
 * the address bar; it is kept in sessionStorage and removed from the visible URL.
 */
import type { ApiMethod, KithEvents } from '../../../../native/api-types.ts';
import { ApiError, type EventName, type Transport } from './transport.ts';

const TOKEN_KEY = 'kith-token';
const EVENTS: readonly EventName[] = ['progress', 'changed'] satisfies (keyof KithEvents)[];

/** Take the token from `?token=` (then hide it), else from this tab's earlier visit. */
export function takeToken(): string {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function httpTransport(token: string = takeToken()): Transport {
  const q = `token=${encodeURIComponent(token)}`;
  return {
    async call(method: ApiMethod, args: unknown[]): Promise<unknown> {
      let res: Response;
      try {
        res = await fetch(`/api/${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-kith-token': token },
          body: JSON.stringify({ args }),
        });
      } catch {
        throw new ApiError('Kith is not reachable. Is `kith serve` still running?');
      }
      const body = (await res.json().catch(() => ({}))) as { result?: unknown; error?: string };
      if (!res.ok) throw new ApiError(body.error ?? `${res.status} ${res.statusText}`, res.status);
      return body.result;
    },

    subscribe(listener) {
      const source = new EventSource(`/api/events?${q}`);
      let dropped = false;
      for (const name of EVENTS) {
        source.addEventListener(name, (e) => listener(name, JSON.parse((e as MessageEvent<string>).data)));
      }
      source.addEventListener('error', () => (dropped = true));
      // After a reconnect, events may have been missed: tell the stores to refresh.
      source.addEventListener('open', () => {
        if (dropped) listener('changed', { reason: 'index' } satisfies KithEvents['changed']);
        dropped = false;
      });
      return () => source.close();
    },

    mediaUrl(kind, id) {
      return `/${kind}/${id}?${q}`;
    },
  };
}
