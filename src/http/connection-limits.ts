import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import type { CoreConfig } from '../config/pushgate.config';

/** At most one log line per this many milliseconds about refused connections, with the count since the last. */
const DROP_LOG_INTERVAL_MS = 10_000;
/** Node checks the request timeouts every second (server-timeouts.ts): give it that long before stepping in. */
const CHECK_SLACK_MS = 1000;

/**
 * Bounds the client connections themselves, which Node's request timeouts do not: `headersTimeout` only starts
 * counting at the first byte of a request, so a connection that sends nothing stays open for ever.
 *
 * - A connection that has sent nothing after `core.header_timeout` seconds is closed. From its first byte on,
 *   `headersTimeout` and `requestTimeout` apply (408), and between requests the keep-alive timeout.
 * - With `core.max_connections`, connections above it are closed as they arrive (`server.maxConnections`).
 *
 * Call before listen.
 */
export function applyConnectionLimits(server: Server, core: Pick<CoreConfig, 'header_timeout' | 'max_connections'>): void {
  const silenceMs = core.header_timeout * 1000;
  const waiting = new WeakMap<Socket, NodeJS.Timeout>();
  server.on('connection', (socket: Socket) => {
    let checks = 0;
    const check = (): void => {
      // Once a byte has arrived Node's headersTimeout answers 408; the second look only catches what it missed.
      if (socket.bytesRead === 0 || ++checks > 1) socket.destroy();
      else waiting.set(socket, setTimeout(check, silenceMs + CHECK_SLACK_MS).unref());
    };
    waiting.set(socket, setTimeout(check, silenceMs).unref());
    socket.once('close', () => clearTimeout(waiting.get(socket)));
  });
  server.on('request', (req: { socket: Socket }) => {
    // The request's own deadlines apply from now on; between requests, the keep-alive timeout.
    clearTimeout(waiting.get(req.socket));
    waiting.delete(req.socket);
  });
  if (core.max_connections > 0) {
    server.maxConnections = core.max_connections;
    const logger = new Logger('Connections');
    let dropped = 0;
    let loggedAt = 0;
    server.on('drop', () => {
      dropped++;
      const now = Date.now();
      if (now - loggedAt < DROP_LOG_INTERVAL_MS) return;
      logger.warn(`core.max_connections (${core.max_connections}) reached: ${dropped} connection(s) refused since the last message`);
      loggedAt = now;
      dropped = 0;
    });
  }
}
