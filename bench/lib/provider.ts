// The contract both push servers under the gateway meet: the project's simulator and mockpush.

import type { BenchChild } from './processes.ts';

export type ServerName = 'simulator' | 'mockpush';

export interface Endpoint {
  host: string;
  port: number;
}

/** Files a gateway (or a bare client) needs to reach the server: its CA, an APNs key and an FCM service account. */
export interface ProviderFiles {
  ca: string;
  apnsKey: string;
  /** JSON: { keyId, teamId, topic } of the APNs key. */
  apnsInfo: string;
  fcmServiceAccount: string;
}

export interface Provider {
  readonly name: ServerName;
  readonly child: BenchChild;
  readonly apns: Endpoint;
  readonly fcm: Endpoint;
  readonly files: ProviderFiles;
  readonly keyId: string;
  readonly teamId: string;
  readonly topic: string;
  /**
   * Whether {@link withLatency} slows this very process down, so that a gateway already connected to it sees the
   * change (the simulator); otherwise it starts another instance with the latency (mockpush fixes it at start).
   */
  readonly latencyInPlace: boolean;
  /** The server's own counters, as it reports them. */
  counts(): Promise<unknown>;
  /** Pushes answered since the last reset, iOS and Android together. */
  answered(): Promise<number>;
  reset(): Promise<void>;
  /** Resolves once `total` pushes have been answered since the last reset; fails after `timeoutMs`. */
  waitFor(total: number, timeoutMs: number): Promise<void>;
  /** Runs `run` against a server answering every push after `ms` milliseconds. */
  withLatency<T>(ms: number, run: (provider: Provider) => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}
