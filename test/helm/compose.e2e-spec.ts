import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/pushgate.config';

// No container engine can run the example here: check what can be checked without one.

const run = promisify(execFile);
const root = resolve(__dirname, '..', '..');
const dir = join(root, 'examples', 'compose');

interface Service {
  build?: { context: string };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
}
const compose = parseYaml(readFileSync(join(dir, 'compose.yaml'), 'utf8')) as { services: Record<string, Service> };
const { gateway, redis, prometheus, grafana } = compose.services;

/** Bind mounts of a service: host path (resolved) and container path. */
function binds(service: Service): { host: string; container: string }[] {
  return (service.volumes ?? [])
    .filter((v) => v.startsWith('.') || v.startsWith('/'))
    .map((v) => {
      const [host, container] = v.split(':');
      return { host: resolve(dir, host), container };
    });
}

describe('compose example', () => {
  it('runs the gateway, Redis, Prometheus and Grafana, the gateway built from this repository', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['gateway', 'grafana', 'prometheus', 'redis']);
    expect(existsSync(join(resolve(dir, gateway.build!.context), 'Dockerfile'))).toBe(true);
    expect(redis.image).toMatch(/^redis:/);
    expect(redis.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
  });

  it('mounts only files that exist', () => {
    const all = Object.values(compose.services).flatMap(binds);
    expect(all.length).toBeGreaterThanOrEqual(3);
    for (const b of all) expect(existsSync(b.host)).toBe(true);
  });

  it('configures the gateway with keys it accepts', () => {
    const env = gateway.environment!;
    const config = loadConfig({ path: join(root, 'config', 'pushgate.toml'), env });
    expect(config.queue).toMatchObject({ backend: 'redis', redis_url: 'redis://redis:6379/0' });
    expect(gateway.ports).toContain(`${config.core.port}:${config.core.port}`);
  });

  (spawnSync('promtool', ['--version']).status === 0 ? it : it.skip)(
    'gives Prometheus a valid configuration that scrapes the gateway (promtool; skipped when the prometheus package is not installed)',
    async () => {
      const mount = binds(prometheus).find((b) => b.container === '/etc/prometheus/prometheus.yml');
      expect(prometheus.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
      const { stdout } = await run('promtool', ['check', 'config', mount!.host]);
      expect(stdout).toMatch(/SUCCESS/);
      const scrape = parseYaml(readFileSync(mount!.host, 'utf8')) as {
        scrape_configs: { static_configs: { targets: string[] }[]; metrics_path: string }[];
      };
      expect(scrape.scrape_configs[0].metrics_path).toBe('/metrics');
      expect(scrape.scrape_configs[0].static_configs[0].targets).toEqual(['gateway:1056']);
    },
  );

  it('provisions Grafana with Prometheus and the chart dashboard', () => {
    const provisioning = binds(grafana).find((b) => b.container === '/etc/grafana/provisioning')!;
    const datasources = parseYaml(readFileSync(join(provisioning.host, 'datasources', 'prometheus.yaml'), 'utf8')) as {
      datasources: { type: string; url: string }[];
    };
    expect(datasources.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    const providers = parseYaml(readFileSync(join(provisioning.host, 'dashboards', 'pushgate.yaml'), 'utf8')) as {
      providers: { options: { path: string } }[];
    };
    const dashboard = binds(grafana).find((b) => b.host === join(root, 'helm', 'pushgate', 'files', 'dashboard.json'))!;
    expect(dirname(dashboard.container)).toBe(providers.providers[0].options.path);
    expect((JSON.parse(readFileSync(dashboard.host, 'utf8')) as { uid: string }).uid).toBe('pushgate');
  });
});
