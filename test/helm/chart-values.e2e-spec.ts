import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/pushgate.config';
import { chartDir, lint, one, prodValues, render, renderError, RenderOptions } from './chart';
import { withParameterTables } from './chart-readme';

jest.setTimeout(60_000);

const redis: RenderOptions['set'] = { 'queue.backend': 'redis', 'queue.redis.existingSecret': 'pushgate-redis' };

async function lintError(opts: RenderOptions): Promise<string> {
  try {
    await lint(opts);
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? '') + String((err as { stderr?: string }).stderr ?? err);
  }
  throw new Error('expected helm lint to fail');
}

describe('values.schema.json', () => {
  it.each([
    ['replicaCount', 'abc'],
    ['config.core.workers', 'abc'],
    ['config.core.shutdown_timeout', '-1'],
    ['config.log.level', 'loud'],
    ['config.core.simulator', 'never'],
    ['service.type', 'Public'],
    ['image.pullPolicy', 'Sometimes'],
    ['autoscaling.queueDepth.type', 'Object'],
    ['nosuchvalue', '1'],
  ])('refuses %s=%s in helm template and helm lint', async (key, value) => {
    const opts: RenderOptions = { set: { [key]: value } };
    expect(await renderError(opts)).toContain(key);
    expect(await lintError(opts)).toContain(key);
  });

  it('describes every documented value', () => {
    type Schema = { properties?: Record<string, Schema>; description?: string };
    const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as Schema;
    const text = readFileSync(join(chartDir, 'values.yaml'), 'utf8');
    const params = [...text.matchAll(/^\s*## @param (\S+)/gm)].map((m) => m[1]);
    const missing = params.filter(
      (p) => p.split('.').reduce<Schema | undefined>((s, k) => s?.properties?.[k], schema)?.description === undefined,
    );
    expect(missing).toEqual([]);
  });

  it('accepts the values the tests and the production overlay use', async () => {
    await expect(lint({ valuesFiles: [prodValues], set: { ...redis, 'autoscaling.queueDepth.enabled': true } })).resolves.toContain(
      '0 chart(s) failed',
    );
    // Null keeps the gateway's default; the schema allows it wherever values.yaml does.
    await expect(render({ set: { 'config.core.workers': null as unknown as string } })).resolves.toBeDefined();
  });
});

describe('chart README', () => {
  it('lists every parameter of values.yaml with its description and default', () => {
    const path = join(chartDir, 'README.md');
    let readme = readFileSync(path, 'utf8');
    const expected = withParameterTables(readme, readFileSync(join(chartDir, 'values.yaml'), 'utf8'));
    // On a mismatch, UPDATE_CHART_README=1 rewrites the tables from values.yaml.
    if (process.env.UPDATE_CHART_README === '1' && readme !== expected) {
      writeFileSync(path, expected);
      readme = readFileSync(path, 'utf8');
    }
    expect(readme).toBe(expected);
    expect(readme).toContain('| `replicaCount` |');
  });

  it('Chart.yaml says where the chart comes from and who maintains it', () => {
    const chart = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
    expect(chart.home).toMatch(/^https:\/\//);
    expect((chart.sources as string[]).length).toBeGreaterThan(0);
    expect((chart.maintainers as { name: string }[])[0].name).toBeTruthy();
  });
});

describe('every non-secret configuration section', () => {
  it('renders auth, feedback and queue keys into a TOML the gateway loads', async () => {
    const objects = await render({
      set: {
        'config.auth.protect_stats': true,
        'config.auth.rate_limit': 50,
        'config.auth.api_keys_path': '/etc/pushgate/keys/keys',
        'config.feedback.webhook_url': 'https://backend.example/dead-tokens',
        'config.feedback.batch_size': 20,
        'config.queue.redis_ca_path': '/etc/pushgate/redis/ca.pem',
      },
    });
    const text = one<{ data: Record<string, string> }>(objects, 'ConfigMap').data['pushgate.toml'];
    const toml = parseToml(text) as Record<string, Record<string, unknown>>;
    expect(toml.auth).toEqual({ api_keys_path: '/etc/pushgate/keys/keys', protect_stats: true, rate_limit: 50 });
    expect(toml.feedback).toMatchObject({ webhook_url: 'https://backend.example/dead-tokens', batch_size: 20 });
    expect(toml.queue).toEqual({ redis_ca_path: '/etc/pushgate/redis/ca.pem' });

    // The gateway reads the defaults the chart renders as its own: it refuses them without credentials
    // (config.core.simulator is "off"), and runs them against its simulator when that is allowed.
    const dir = mkdtempSync(join(tmpdir(), 'pushgate-chart-sections-'));
    try {
      const file = join(dir, 'pushgate.toml');
      writeFileSync(file, one<{ data: Record<string, string> }>(await render(), 'ConfigMap').data['pushgate.toml']);
      expect(() => loadConfig({ path: file, env: {} })).toThrow(/core\.simulator = "off" and no provider credentials/);
      const demo = await render({ set: { 'config.core.simulator': 'auto' } });
      writeFileSync(file, one<{ data: Record<string, string> }>(demo, 'ConfigMap').data['pushgate.toml']);
      const config = loadConfig({ path: file, env: {} });
      expect(config.auth).toMatchObject({ protect_stats: false, rate_limit: 0, api_keys_path: '' });
      expect(config.feedback).toMatchObject({ webhook_url: '', history_size: 1000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['config.auth.api_keys', 'k1', /PUSHGATE_AUTH_API_KEYS/],
    ['config.feedback.webhook_secret', 's', /PUSHGATE_FEEDBACK_WEBHOOK_SECRET/],
    ['config.queue.redis_url', 'redis://r:6379', /queue.redis.existingSecret/],
    ['config.queue.backend', 'redis', /queue.backend/],
    ['config.nosuchsection.key', 'x', /not a pushgate configuration section/],
  ])('refuses %s in the ConfigMap', async (key, value, message) => {
    expect(await renderError({ set: { [key]: value } })).toMatch(message);
  });
});

describe('NetworkPolicy', () => {
  const policy = async (set: RenderOptions['set']): Promise<INetworkPolicy> => {
    const np = one<INetworkPolicy>(await render({ valuesFiles: [prodValues], set }), 'NetworkPolicy');
    new NetworkPolicy(np).validate();
    return np;
  };
  const egressPorts = (np: INetworkPolicy) => (np.spec?.egress ?? []).flatMap((r) => (r.ports ?? []).map((p) => p.port));

  it('with egress locked down (values-prod.yaml), lets the pods reach Redis when the queue is there', async () => {
    expect(egressPorts(await policy({}))).toEqual([53, 53, 443]);
    expect(egressPorts(await policy(redis))).toEqual([53, 53, 443, 6379]);
    const peers = await policy({
      ...redis,
      'networkPolicy.redisTo[0].podSelector.matchLabels.app': 'redis',
      'networkPolicy.redisPort': 6380,
    });
    const rule = peers.spec!.egress!.find((r) => r.ports?.some((p) => p.port === 6380));
    expect(rule?.to).toEqual([{ podSelector: { matchLabels: { app: 'redis' } } }]);
  });

  it('admits the monitoring namespace to the port when the ServiceMonitor is on', async () => {
    const sources = (np: INetworkPolicy) => (np.spec?.ingress ?? []).flatMap((r) => r.from ?? []);
    const monitoring = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } };
    expect(sources(await policy({}))).not.toContainEqual(monitoring);
    const np = await policy({ 'metrics.serviceMonitor.enabled': true });
    expect(sources(np)).toContainEqual(monitoring);
    expect(np.spec!.ingress!.every((r) => r.ports?.[0].port === 1056)).toBe(true);
  });
});

describe('ServiceMonitor', () => {
  it('sends an API key from a Secret, and is refused without one once /metrics needs a key', async () => {
    const set = { 'metrics.serviceMonitor.enabled': true, 'config.auth.protect_stats': true };
    expect(await renderError({ set })).toMatch(/metrics.serviceMonitor.authorization.secretName/);
    const sm = one<{ spec: { endpoints: Record<string, unknown>[] } }>(
      await render({ set: { ...set, 'metrics.serviceMonitor.authorization.secretName': 'prometheus-pushgate-key' } }),
      'ServiceMonitor',
    );
    expect(sm.spec.endpoints[0].authorization).toEqual({
      type: 'Bearer',
      credentials: { name: 'prometheus-pushgate-key', key: 'api-key' },
    });
    const plain = one<{ spec: { endpoints: Record<string, unknown>[] } }>(
      await render({ set: { 'metrics.serviceMonitor.enabled': true } }),
      'ServiceMonitor',
    );
    expect(plain.spec.endpoints[0]).not.toHaveProperty('authorization');
  });
});

describe('HPA on queue depth', () => {
  const hpa = async (set: RenderOptions['set']): Promise<IHorizontalPodAutoscaler> => {
    const h = one<IHorizontalPodAutoscaler>(
      await render({ set: { 'autoscaling.enabled': true, 'autoscaling.queueDepth.enabled': true, ...set } }),
      'HorizontalPodAutoscaler',
    );
    new HorizontalPodAutoscaler(h).validate();
    return h;
  };

  it('scales each pod on its own queue with the in-memory queue (Pods metric)', async () => {
    const metrics = (await hpa({ 'autoscaling.targetCPUUtilizationPercentage': null as unknown as string })).spec!.metrics!;
    expect(metrics).toEqual([
      { type: 'Pods', pods: { metric: { name: 'pushgate_queue_depth' }, target: { type: 'AverageValue', averageValue: '2000' } } },
    ]);
  });

  it('scales on the shared queue with Redis (External metric, divided by the pods)', async () => {
    const metrics = (await hpa({ ...redis, 'autoscaling.queueDepth.selector.matchLabels.namespace': 'push' })).spec!.metrics!;
    expect(metrics.map((m) => m.type)).toEqual(['Resource', 'External']);
    expect(metrics[1].external).toEqual({
      metric: { name: 'pushgate_queue_depth', selector: { matchLabels: { namespace: 'push' } } },
      target: { type: 'AverageValue', averageValue: '2000' },
    });
  });

  it('names a metric the gateway exports', () => {
    const source = readFileSync(join(chartDir, '..', '..', 'src', 'metrics', 'metrics.service.ts'), 'utf8');
    const values = parseYaml(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as {
      autoscaling: { queueDepth: { metricName: string } };
    };
    expect(source).toContain(`name: '${values.autoscaling.queueDepth.metricName}'`);
  });
});
