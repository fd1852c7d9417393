import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { loadConfig } from '../../src/config/pushgate.config';
import { redisTopology } from '../../src/redis/redis.connection';
import { render, renderError, type K8sObject } from '../helm/chart';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string; optional?: boolean } };
}

function pieces(objects: K8sObject[]): { toml: string; env: EnvVar[] } {
  const configMap = objects.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
  const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as {
    spec: { template: { spec: { containers: { name: string; env?: EnvVar[] }[] } } };
  };
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'pushgate')!;
  return { toml: configMap.data['pushgate.toml'], env: container.env ?? [] };
}

/** The configuration the gateway would load from the rendered ConfigMap and env, Secret values filled in. */
function loaded(toml: string, env: EnvVar[], secret: Record<string, string>): ReturnType<typeof loadConfig> {
  const dir = mkdtempSync(join(tmpdir(), 'pushgate-helm-redis-'));
  const path = join(dir, 'pushgate.toml');
  writeFileSync(path, toml);
  const variables: Record<string, string> = {};
  for (const e of env) {
    const value = e.value ?? secret[e.valueFrom!.secretKeyRef.key];
    if (value !== undefined) variables[e.name] = value;
  }
  // The renderings carry no provider credentials: only the chart's try-it-out mode loads them.
  return loadConfig({ path, env: { PUSHGATE_CORE_SIMULATOR: 'auto', ...variables } });
}

describe('Helm chart: the queue on Sentinel or Cluster', () => {
  it('renders sentinels, master name and WAIT into the TOML, both passwords from the Secret through the environment', async () => {
    const { toml, env } = pieces(
      await render({
        set: {
          'queue.backend': 'redis',
          'queue.redis.existingSecret': 'pushgate-redis',
          'queue.redis.sentinel.addresses': '{redis-sentinel-0.redis:26379,redis-sentinel-1.redis:26379}',
          'queue.redis.sentinel.masterName': 'mymaster',
          'queue.redis.tls': true,
          'queue.redis.waitReplicas': 1,
          'queue.redis.waitTimeoutMs': 250,
        },
      }),
    );
    expect((parseToml(toml) as { queue: unknown }).queue).toEqual({
      redis_sentinels: 'redis-sentinel-0.redis:26379,redis-sentinel-1.redis:26379',
      redis_sentinel_master: 'mymaster',
      redis_tls: true,
      redis_wait_replicas: 1,
      redis_wait_timeout_ms: 250,
    });
    expect(env).toEqual(
      expect.arrayContaining([
        {
          name: 'PUSHGATE_QUEUE_REDIS_PASSWORD',
          valueFrom: { secretKeyRef: { name: 'pushgate-redis', key: 'redis-password', optional: true } },
        },
        {
          name: 'PUSHGATE_QUEUE_REDIS_SENTINEL_PASSWORD',
          valueFrom: { secretKeyRef: { name: 'pushgate-redis', key: 'sentinel-password', optional: true } },
        },
      ]),
    );
    expect(env.map((e) => e.name)).not.toContain('PUSHGATE_QUEUE_REDIS_URL');
    expect(toml).not.toMatch(/password/);

    const { queue } = loaded(toml, env, { 'redis-password': 'data-pw', 'sentinel-password': 'sentinel-pw' });
    expect(redisTopology(queue)).toBe('sentinel');
    expect(queue).toMatchObject({
      backend: 'redis',
      redis_password: 'data-pw',
      redis_sentinel_password: 'sentinel-pw',
      redis_wait_replicas: 1,
    });
  });

  it('renders cluster seed nodes; a cluster without passwords needs no Secret', async () => {
    const { toml, env } = pieces(
      await render({ set: { 'queue.backend': 'redis', 'queue.redis.cluster.nodes': '{redis-0:6379,redis-1:6379}' } }),
    );
    expect((parseToml(toml) as { queue: unknown }).queue).toEqual({ redis_cluster_nodes: 'redis-0:6379,redis-1:6379' });
    expect(env.filter((e) => e.valueFrom)).toEqual([]);
    expect(redisTopology(loaded(toml, env, {}).queue)).toBe('cluster');
  });

  it('puts no Redis topology key in the TOML for a single URL, as before', async () => {
    const { toml, env } = pieces(await render({ set: { 'queue.backend': 'redis', 'queue.redis.existingSecret': 'pushgate-redis' } }));
    expect(Object.keys((parseToml(toml) as { queue?: object }).queue ?? {}).filter((k) => k.startsWith('redis_'))).toEqual([]);
    expect(redisTopology(loaded(toml, env, { 'redis-url': 'redis://redis:6379' }).queue)).toBe('single');
  });

  it('refuses Sentinel and Cluster together, and sentinels without the master name', async () => {
    const both = {
      'queue.backend': 'redis',
      'queue.redis.sentinel.addresses': '{s:26379}',
      'queue.redis.sentinel.masterName': 'm',
      'queue.redis.cluster.nodes': '{c:6379}',
    };
    expect(await renderError({ set: both })).toMatch(/set only one of them/);
    expect(await renderError({ set: { 'queue.backend': 'redis', 'queue.redis.sentinel.addresses': '{s:26379}' } })).toMatch(
      /masterName is required/,
    );
  });
});
