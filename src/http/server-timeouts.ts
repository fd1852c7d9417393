import type { Server } from 'node:http';
import type { CoreConfig } from '../config/pushgate.config';

/** How often Node checks connections against the timeouts; its default of 30 s would stretch them by as much. */
const CHECK_INTERVAL_MS = 1000;

/**
 * Bounds how long a client may take to send its headers and its whole request, so slow or stalled clients
 * (slowloris) cannot hold connections and memory: Node answers 408 and closes the connection. Call before listen.
 */
export function applyServerTimeouts(server: Server, core: Pick<CoreConfig, 'header_timeout' | 'request_timeout'>): void {
  server.headersTimeout = core.header_timeout * 1000;
  server.requestTimeout = core.request_timeout * 1000;
  // Read by Node when the server starts listening (lib/_http_server.js setupConnectionsTracking).
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = CHECK_INTERVAL_MS;
}
