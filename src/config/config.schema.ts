import { availableParallelism } from 'node:os';

/** A key's value: the defaults' type of a key is the type its file and environment values are read as. */
export type Scalar = string | number | boolean;

export interface CoreConfig {
  port: string;
  workers: number;
  queues: number;
  notification_max: number;
  token_max: number;
  body_limit: number;
  pusher_max: number;
  shutdown_timeout: number;
  shutdown_delay: number;
  pid: string;
  allows_empty_message: boolean;
  log_full_token: boolean;
  /** Refuse a POST /push body with keys the request does not define (or spelled in another case) instead of ignoring them. */
  strict_keys: boolean;
  /** Seconds a client may take to send the request headers. */
  header_timeout: number;
  /** Seconds a client may take to send the whole request. */
  request_timeout: number;
  /** Seconds an idle client connection is kept open; above the idle timeout of the load balancers in front. */
  keepalive_timeout: number;
  /** Worker threads carrying the provider connections (TLS and HTTP/2); 0 keeps them in the main thread. */
  transport_threads: number;
  /** Client connections open at once; those above are closed as they arrive. 0 = no limit. */
  max_connections: number;
  /**
   * Bytes that accepted pushes may hold in memory; a request that would go over is refused with 503. 0: a quarter of
   * the V8 heap limit (which Node sizes from the container's memory limit).
   */
  memory_budget: number;
  /**
   * `auto`: without provider credentials the embedded simulator stands in for APNs and FCM; `off`: such a start is
   * refused, so a production deployment that lost its credentials cannot deliver to a simulator.
   */
  simulator: string;
  /**
   * HTTP proxy for the provider connections (`http://[user:pass@]host:port`), tunnelled with CONNECT; the
   * `HTTPS_PROXY` / `https_proxy` environment variables when not set.
   */
  https_proxy: string;
  /** Hosts reached without the proxy (`NO_PROXY` syntax); `NO_PROXY` / `no_proxy` when not set. */
  no_proxy: string;
}

/** What APNs and FCM have alike: retries, the deadline of a send, the connections, and where to connect. */
export interface ProviderConnectionConfig {
  retry_max: number;
  timeout: number;
  keepalive_timeout: number;
  keepalive_conns: number;
  endpoint: string;
  ca_path: string;
}

export interface IosConfig extends ProviderConnectionConfig {
  enabled: boolean;
  pem_cert_path: string;
  pem_key_path: string;
  pem_key_passphrase: string;
  token_auth_key_path: string;
  token_auth_key_id: string;
  token_auth_team_id: string;
  topic: string;
  /** Further `apns-topic` values a notification may name (comma-separated, or a TOML array); its credential must cover them. */
  topics: string;
  sandbox: boolean;
}

export interface AndroidConfig extends ProviderConnectionConfig {
  enabled: boolean;
  apikey: string;
  service_account_path: string;
}

/** The queue provider: `memory` (embedded) or `redis` (shared by replicas, durable). */
export interface QueueConfig {
  backend: string;
  redis_url: string;
  /** CA bundle (PEM) to trust for a `rediss://` URL, besides the system's. */
  redis_ca_path: string;
  /** Key prefix, so that several gateways (or environments) can share one Redis. */
  redis_prefix: string;
  /** Seconds a push held by a replica that stopped answering stays unclaimed before another replica takes it. */
  claim_idle: number;
  /** Seconds a push that ended failed stays in the dead-letter set. */
  dead_letter_ttl: number;
  /** Sentinels (`host:port,host:port`) that name the primary, instead of `redis_url`. */
  redis_sentinels: string;
  /** The primary's name in the Sentinel configuration (`sentinel monitor <name> ...`). */
  redis_sentinel_master: string;
  redis_sentinel_password: string;
  /** TLS to the sentinels themselves. */
  redis_sentinel_tls: boolean;
  /** Seed nodes (`host:port,host:port`) of a Redis Cluster, instead of `redis_url`. */
  redis_cluster_nodes: string;
  /** ACL user and password of the data nodes (with a URL, those in the URL take precedence). */
  redis_username: string;
  redis_password: string;
  /** TLS to the data nodes (a `rediss://` URL turns it on too). */
  redis_tls: boolean;
  /** Replicas that must have a request's pushes (Redis `WAIT`) before it is answered 200; 0 = do not wait. */
  redis_wait_replicas: number;
  /** Milliseconds `WAIT` may take; past it the request is answered 503. */
  redis_wait_timeout_ms: number;
}

/** Access control for the HTTP API. */
export interface AuthConfig {
  api_keys: string;
  api_keys_path: string;
  /** Require a key for `/stat/*` and `/metrics` too. */
  protect_stats: boolean;
  /** Requests per second per key (per client address without keys); 0 = no limit. */
  rate_limit: number;
  /** Wrong API keys a client address may present per minute before it gets 429; 0 = no limit. */
  failed_key_limit: number;
  /** Without API keys, let anyone reload the configuration and read or replay dead letters. */
  anonymous_admin: boolean;
}

/** Invalid-token feedback to the backend that owns the token database. */
export interface FeedbackConfig {
  webhook_url: string;
  webhook_secret: string;
  /** Dead tokens per webhook POST. */
  batch_size: number;
  /** Seconds a dead token may wait for its batch to fill before it is sent. */
  flush_interval: number;
  /** Dead tokens held while the webhook is unreachable; beyond it the oldest are dropped. */
  buffer_size: number;
  /** Recent dead tokens kept for `GET /feedback/invalid-tokens`; 0 turns the endpoint off. */
  history_size: number;
  /** Seconds one webhook POST may take. */
  timeout: number;
}

/** Gorush's API beside pushgate's (`/api/push`, `/api/stat/*`, `/healthz`, `/api/config`). */
export interface GorushConfig {
  /** Gorush's `core.sync`: `/api/push` answers once every push has ended, with the failures in `logs`. */
  sync: boolean;
  /** `/metrics` also carries Gorush's metric names (`gorush_total_push_count`, ...). */
  metric_names: boolean;
}

export interface LogConfig {
  access_log: string;
  error_log: string;
  level: string;
  /** `json` (pino's lines) or `gaurun` (Gaurun's zap lines, for pipelines that parse them). */
  format: string;
}

/**
 * One app served by the gateway: its own APNs and FCM credentials and clients. The Gaurun `[ios]` / `[android]`
 * sections form the app named {@link DEFAULT_APP}; `[apps.<name>.ios]` / `[apps.<name>.android]` add others.
 */
export interface AppConfig {
  ios: IosConfig;
  android: AndroidConfig;
  /** Sends of this app in flight at most; 0 = three quarters of the total concurrency when several apps are configured. */
  in_flight_max: number;
  /** Comma-separated API keys that may push to this app (and to no app they are not listed for). */
  api_keys: string;
}

/** The app a notification without an `app` field goes to. */
export const DEFAULT_APP = 'default';

/** Named-app keys outside the ios/android tables, with their defaults. */
export const APP_DEFAULTS = { in_flight_max: 0, api_keys: '' };

export interface PushgateConfig {
  core: CoreConfig;
  ios: IosConfig;
  android: AndroidConfig;
  queue: QueueConfig;
  auth: AuthConfig;
  feedback: FeedbackConfig;
  gorush: GorushConfig;
  log: LogConfig;
  /** Every configured app by name, the default one (from `[ios]` / `[android]`) included when it has credentials. */
  apps: Record<string, AppConfig>;
  /** True when no provider credentials are configured: the embedded simulator stands in for APNs and FCM. */
  simulator: boolean;
  /** Keys found in the file that pushgate does not know (Gaurun leftovers or typos), reported at boot. */
  unknown_keys: string[];
}

/** The sections of the file, each a table of scalar keys. */
export type ConfigSections = Omit<PushgateConfig, 'simulator' | 'unknown_keys' | 'apps'>;

const cpus = availableParallelism();
/**
 * Half the cores, at least 1 and at most 2: the main thread (HTTP, queue, logs) and the transport threads share the
 * cores, and each thread holds a heap of its own (about 120 MB more peak RSS in a burst for a second one), while a
 * container's CPU limit does not show in the count of cores.
 */
const transportThreads = Math.min(2, Math.max(1, Math.floor(cpus / 2)));

const PROVIDER_CONNECTION_DEFAULTS: ProviderConnectionConfig = {
  retry_max: 1,
  timeout: 5,
  keepalive_timeout: 90,
  keepalive_conns: cpus,
  endpoint: '',
  ca_path: '',
};

export const CONFIG_DEFAULTS: ConfigSections = {
  core: {
    port: '1056',
    workers: cpus,
    queues: 8192,
    notification_max: 100,
    token_max: 1000,
    body_limit: 10 * 1024 * 1024,
    pusher_max: 255,
    shutdown_timeout: 10,
    shutdown_delay: 0,
    pid: '',
    allows_empty_message: false,
    log_full_token: false,
    strict_keys: false,
    header_timeout: 20,
    request_timeout: 60,
    keepalive_timeout: 75,
    transport_threads: transportThreads,
    max_connections: 0,
    memory_budget: 0,
    simulator: 'auto',
    https_proxy: '',
    no_proxy: '',
  },
  ios: {
    enabled: true,
    pem_cert_path: '',
    pem_key_path: '',
    pem_key_passphrase: '',
    token_auth_key_path: '',
    token_auth_key_id: '',
    token_auth_team_id: '',
    topic: '',
    topics: '',
    sandbox: true,
    ...PROVIDER_CONNECTION_DEFAULTS,
  },
  android: {
    enabled: true,
    apikey: '',
    service_account_path: '',
    ...PROVIDER_CONNECTION_DEFAULTS,
  },
  queue: {
    backend: 'memory',
    redis_url: '',
    redis_ca_path: '',
    redis_prefix: 'pushgate',
    claim_idle: 30,
    dead_letter_ttl: 604_800,
    redis_sentinels: '',
    redis_sentinel_master: '',
    redis_sentinel_password: '',
    redis_sentinel_tls: false,
    redis_cluster_nodes: '',
    redis_username: '',
    redis_password: '',
    redis_tls: false,
    redis_wait_replicas: 0,
    redis_wait_timeout_ms: 500,
  },
  auth: {
    api_keys: '',
    api_keys_path: '',
    protect_stats: false,
    rate_limit: 0,
    failed_key_limit: 10,
    anonymous_admin: false,
  },
  feedback: {
    webhook_url: '',
    webhook_secret: '',
    batch_size: 100,
    flush_interval: 1,
    buffer_size: 10_000,
    history_size: 1000,
    timeout: 10,
  },
  gorush: {
    sync: false,
    metric_names: false,
  },
  log: {
    access_log: 'stdout',
    error_log: 'stderr',
    level: 'error',
    format: 'json',
  },
};

/** The largest `core.pusher_max`, in the file and through `PUT /config/pushers`. */
export const PUSHER_MAX_LIMIT = 100_000;

export interface ConfigSource {
  /** TOML file path; absent means defaults and environment only. */
  path?: string;
  /** Environment: `PUSHGATE_<SECTION>_<KEY>` overrides `<section>.<key>`. */
  env?: NodeJS.ProcessEnv;
}

/** The environment variable that sets `section.key`: `PUSHGATE_CORE_PORT` for `core.port`. */
export function envName(section: string, key: string): string {
  return `PUSHGATE_${section}_${key}`.toUpperCase();
}

/** The environment variable that sets a key of a named app: `PUSHGATE_APPS_<NAME>_IOS_<KEY>`. */
export function appEnvName(app: string, platform: 'ios' | 'android' | '', key: string): string {
  return `PUSHGATE_APPS_${app}_${platform === '' ? '' : `${platform}_`}${key}`.toUpperCase();
}
