/**
 * @file The browser transport over `kith serve`: POST /api/<method> with the token in a header,
 * Server-Sent Events for progress and changes, and media URLs for <img>. The token arrives once
 * in the address bar; it is kept in this tab's sessionStorage and removed from the visible URL.
 * Never a cookie: cookies are shared with every other server on 127.0.0.1, whatever its port.
 * `EventSource` and `<img src>` cannot send headers, so those same-origin GETs carry it as
 * `?token=` (the page sends no Referer, and they never show in the address bar).
 */
import type { ApiMethod, KithEvents } from '../../../../native/api/types.ts';
import { ApiError, type EventName, type Transport } from './transport.ts';

const TOKEN_KEY = 'kith-token';
const EVENTS: readonly EventName[] = ['progress', 'changed'] satisfies (keyof KithEvents)[];
/** The server's page that tells the user to open the link printed in the terminal (serve.ts). */
const NEEDS_LINK = '/needs-link';

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

/** No token, or one the server no longer accepts: show the page that says which link to open. */
function needLink(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  window.location.replace(NEEDS_LINK);
}

export function httpTransport(token: string = takeToken()): Transport {
  const q = `token=${encodeURIComponent(token)}`;
  if (!token) needLink();
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
      if (res.status === 401) needLink();
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
