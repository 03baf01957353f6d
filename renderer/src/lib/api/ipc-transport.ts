/**
 * @file The Electron transport: a thin pass-through to the preload's `window.kith` bridge,
 * turning the plain Errors that cross contextBridge back into ApiErrors.
 */
import { ApiError, type KithBridge, type Transport } from './transport.ts';

export function ipcTransport(bridge: KithBridge): Transport {
  return {
    async call(method, args) {
      try {
        return await bridge.call(method, args);
      } catch (err) {
        // Electron prefixes errors from ipcRenderer.invoke with "Error invoking remote method …: Error: ".
        const message = (err as Error).message?.replace(/^Error invoking remote method '[^']*': (?:\w*Error: )?/, '') ?? String(err);
        throw new ApiError(message);
      }
    },
    subscribe: (listener) => bridge.subscribe(listener),
    mediaUrl: (kind, id) => bridge.mediaUrl(kind, id),
  };
}
