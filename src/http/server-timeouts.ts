import type { Server } from 'node:http';
import type { CoreConfig } from '../config/pushgate.config';

/** How often Node checks connections against the timeouts; its default of 30 s would stretch them by as much. */
const CHECK_INTERVAL_MS = 1000;

/**
 * Bounds how long a client may take to send its headers and its whole request, so slow or stalled clients
 * (slowloris) cannot hold connections and memory: Node answers 408 and closes the connection. Keeps idle connections
 * open for `core.keepalive_timeout`: a load balancer that reuses a connection the gateway has just closed gets a reset
 * (a 502 for its client), so the gateway must be the side that waits longer (AWS ALB idles 60 s, GCP 600 s).
 * The header deadline counts from the first byte of each request, not from the connection's last activity, so
 * it may stay far shorter than the keep-alive time (the Node 10 to 12 rule headersTimeout > keepAliveTimeout no longer
 * applies; the spec shows a connection idle past the header deadline serving its next request). Call before listen.
 */
export function applyServerTimeouts(
  server: Server,
  core: Pick<CoreConfig, 'header_timeout' | 'request_timeout' | 'keepalive_timeout'>,
): void {
  server.headersTimeout = core.header_timeout * 1000;
  server.requestTimeout = core.request_timeout * 1000;
  server.keepAliveTimeout = core.keepalive_timeout * 1000;
  // Read by Node when the server starts listening (lib/_http_server.js setupConnectionsTracking).
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = CHECK_INTERVAL_MS;
}
