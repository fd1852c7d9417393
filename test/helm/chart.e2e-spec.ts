import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parse as parseToml } from 'smol-toml';
import { loadConfig } from '../../src/config/pushgate.config';
import { parse as parseYaml } from 'yaml';
import { chartDir, find, K8sObject, lint, one, prodValues, render, renderError, RenderOptions } from './chart';

jest.setTimeout(60_000);

type Toml = Record<string, Record<string, unknown>>;

const validators: Record<string, (o: K8sObject) => void> = {
  'v1/ConfigMap': (o) => new ConfigMap(o).validate(),
  'v1/Service': (o) => new Service(o).validate(),
  'v1/ServiceAccount': (o) => new ServiceAccount(o).validate(),
  'v1/Pod': (o) => new Pod(o).validate(),
  'apps/v1/Deployment': (o) => new Deployment(o).validate(),
  'autoscaling/v2/HorizontalPodAutoscaler': (o) => new HorizontalPodAutoscaler(o).validate(),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o).validate(),
  'networking.k8s.io/v1/Ingress': (o) => new Ingress(o).validate(),
  'networking.k8s.io/v1/NetworkPolicy': (o) => new NetworkPolicy(o).validate(),
  // No schema ships for the Prometheus Operator CRD: check the fields the operator needs.
  'monitoring.coreos.com/v1/PrometheusRule': (o) => {
    const spec = o.spec as { groups?: { name?: string; rules?: { alert?: string; expr?: string }[] }[] };
    expect(spec.groups?.length).toBeGreaterThan(0);
    for (const g of spec.groups ?? [])
      for (const r of g.rules ?? []) expect(typeof r.alert === 'string' && typeof r.expr === 'string').toBe(true);
  },
  'monitoring.coreos.com/v1/ServiceMonitor': (o) => {
    const spec = o.spec as { selector?: { matchLabels?: object }; endpoints?: { port?: string; path?: string }[] };
    expect(spec.selector?.matchLabels).toBeDefined();
    expect(spec.endpoints?.length).toBeGreaterThan(0);
    for (const e of spec.endpoints ?? []) expect(typeof e.port === 'string' && typeof e.path === 'string').toBe(true);
  },
};

function validateAll(objects: K8sObject[]): void {
  expect(objects.length).toBeGreaterThan(0);
  for (const o of objects) {
    const validate = validators[`${o.apiVersion}/${o.kind}`];
    if (!validate) throw new Error(`no validator for ${o.apiVersion} ${o.kind} (an unexpected or removed API?)`);
    try {
      validate(o);
    } catch (err) {
      throw new Error(`${o.kind} ${o.metadata.name}: ${(err as Error).message}`, { cause: err });
    }
  }
}

function deploymentOf(objects: K8sObject[]): IDeployment {
  return one<IDeployment>(objects, 'Deployment');
}

function gatewayContainer(objects: K8sObject[]): IContainer {
  const containers = deploymentOf(objects).spec!.template.spec!.containers;
  const c = containers.find((x) => x.name === 'pushgate');
  if (!c) throw new Error('no pushgate container');
  return c;
}

function tomlOf(objects: K8sObject[]): Toml {
  const cm = one<{ data: Record<string, string> }>(objects, 'ConfigMap');
  return parseToml(cm.data['pushgate.toml']) as Toml;
}

/** The path the gateway is told to read its config from (`--config <path>` or `-c <path>`). */
function configArg(c: IContainer): string {
  const argv = [...(c.command ?? []), ...(c.args ?? [])];
  const i = argv.findIndex((a) => a === '--config' || a === '-c');
  expect(i).toBeGreaterThanOrEqual(0);
  return argv[i + 1];
}

function checksum(objects: K8sObject[]): string {
  return deploymentOf(objects).spec!.template.metadata!.annotations!['checksum/config'];
}

const prod: RenderOptions = { valuesFiles: [prodValues] };
const everything: RenderOptions = {
  valuesFiles: [prodValues],
  set: {
    'ingress.enabled': true,
    'ingress.className': 'nginx',
    'ingress.tls[0].secretName': 'pushgate-tls',
    'ingress.tls[0].hosts[0]': 'pushgate.local',
    'metrics.serviceMonitor.enabled': true,
    'metrics.prometheusRule.enabled': true,
    'metrics.dashboard.enabled': true,
    'serviceAccount.annotations.example\\.com/role': 'pushgate',
    'commonLabels.team': 'push',
    'commonAnnotations.owner': 'push-team',
  },
};
const certificateAuth: RenderOptions = {
  valuesFiles: [prodValues],
  set: { 'credentials.apnsAuth': 'certificate' },
};

describe('helm lint', () => {
  it.each([
    ['default values', {}],
    ['values-prod.yaml', prod],
  ])('passes with %s', async (_name, opts: RenderOptions) => {
    await expect(lint(opts)).resolves.toContain('0 chart(s) failed');
  });
});

describe('values.yaml', () => {
  it('documents every value with a ## @param line, and documents nothing that is not a value', () => {
    const text = readFileSync(join(chartDir, 'values.yaml'), 'utf8');
    const params = new Set([...text.matchAll(/^\s*## @param (\S+)/gm)].map((m) => m[1]));
    const values = parseYaml(text) as Record<string, unknown>;
    const undocumented: string[] = [];
    const walk = (node: Record<string, unknown>, prefix: string): void => {
      for (const [key, value] of Object.entries(node)) {
        const path = prefix + key;
        if (params.has(path)) continue;
        const isMap = value !== null && typeof value === 'object' && !Array.isArray(value);
        if (isMap && Object.keys(value).length > 0) walk(value as Record<string, unknown>, `${path}.`);
        else undocumented.push(path);
      }
    };
    walk(values, '');
    expect(undocumented).toEqual([]);
    const get = (path: string) => path.split('.').reduce<unknown>((n, k) => (n as Record<string, unknown> | undefined)?.[k], values);
    expect([...params].filter((p) => get(p) === undefined)).toEqual([]);
  });
});

describe('rendered objects', () => {
  it.each([
    ['default values', {}],
    ['values-prod.yaml', prod],
    ['every optional object enabled', everything],
    ['certificate auth', certificateAuth],
  ])('validate against the Kubernetes schemas with %s', async (_name, opts: RenderOptions) => {
    validateAll(await render(opts));
  });

  it('default install has a Deployment, Service, ConfigMap, ServiceAccount and a helm test pod, nothing else', async () => {
    const kinds = (await render()).map((o) => o.kind).sort();
    expect(kinds).toEqual(['ConfigMap', 'Deployment', 'Pod', 'Service', 'ServiceAccount']);
  });

  it('renders the ServiceMonitor on the http port at /metrics only when enabled', async () => {
    expect(find(await render(prod), 'ServiceMonitor')).toHaveLength(0);
    const sm = one<{ spec: { endpoints: { port: string; path: string }[] } }>(await render(everything), 'ServiceMonitor');
    expect(sm.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
  });

  it('refuses a cluster older than Kubernetes 1.30 (preStop sleep action)', async () => {
    await expect(render({ extraArgs: ['--kube-version', '1.30.0'] })).resolves.toBeDefined();
    expect(await renderError({ extraArgs: ['--kube-version', '1.29.9'] })).toMatch(/kubeVersion/);
  });
});

describe('probes and ports follow the gateway contract', () => {
  it.each([
    ['default values', {}],
    ['values-prod.yaml', prod],
  ])('with %s', async (_name, opts: RenderOptions) => {
    const objects = await render(opts);
    const c = gatewayContainer(objects);
    const port = Number(tomlOf(objects).core.port);
    expect(c.ports).toEqual([expect.objectContaining({ name: 'http', containerPort: port, protocol: 'TCP' })]);
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(c.startupProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
    const svc = one<IService>(objects, 'Service');
    expect(svc.spec?.type).toBe('ClusterIP');
    expect(svc.spec?.ports).toEqual([expect.objectContaining({ name: 'http', targetPort: 'http' })]);
  });

  it('moves the container port with config.core.port', async () => {
    const objects = await render({ setString: { 'config.core.port': '8080' } });
    expect(tomlOf(objects).core.port).toBe('8080');
    expect(gatewayContainer(objects).ports?.[0].containerPort).toBe(8080);
  });

  it('refuses a unix socket or a port override that would bypass the probes', async () => {
    expect(await renderError({ setString: { 'config.core.port': 'unix:/tmp/pushgate.sock' } })).toMatch(
      /config.core.port must be a TCP port/,
    );
    expect(await renderError({ set: { 'extraEnv[0].name': 'PUSHGATE_CORE_PORT', 'extraEnv[0].value': '9000' } })).toMatch(
      /PUSHGATE_CORE_PORT/,
    );
  });

  it('the helm test pod calls the readiness endpoint through the Service', async () => {
    const objects = await render();
    const pod = one<IPod>(objects, 'Pod');
    const svc = one<IService>(objects, 'Service');
    expect(pod.metadata?.annotations?.['helm.sh/hook']).toBe('test');
    expect(pod.spec?.containers[0].image).toMatch(/:[0-9][^:]*$|@sha256:/);
    expect(pod.spec?.containers[0].command?.join(' ')).toContain(
      `http://${svc.metadata?.name}.push.svc:${svc.spec?.ports?.[0].port}/health/ready`,
    );
    // The test pod must not become an endpoint of the Service it tests.
    const selector = svc.spec?.selector ?? {};
    const labels = pod.metadata?.labels ?? {};
    expect(Object.entries(selector).every(([k, v]) => labels[k] === v)).toBe(false);
  });
});

describe('configuration and credentials', () => {
  it('runs the config mounted from the ConfigMap', async () => {
    const objects = await render();
    const d = deploymentOf(objects);
    const c = gatewayContainer(objects);
    const path = configArg(c);
    const mount = c.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
    expect(mount?.readOnly).toBe(true);
    const volume = d.spec!.template.spec!.volumes?.find((v) => v.name === mount?.name);
    const cm = one(objects, 'ConfigMap');
    expect(volume?.configMap?.name).toBe(cm.metadata.name);
    expect(path.slice(mount!.mountPath.length + 1)).toBe('pushgate.toml');
    expect(c.args?.[0]).toBe('dist/main.js');
  });

  it('without a Secret, leaves every credential empty so the gateway runs its simulator (when allowed)', async () => {
    const objects = await render({ set: { 'config.core.simulator': 'auto' } });
    const toml = tomlOf(objects);
    expect(toml.ios.token_auth_key_path).toBe('');
    expect(toml.ios.pem_cert_path).toBe('');
    expect(toml.android.service_account_path).toBe('');
    expect(deploymentOf(objects).spec!.template.spec!.volumes?.some((v) => v.secret)).toBe(false);
  });

  it('renders the documented defaults and sets a shutdown delay', async () => {
    const toml = tomlOf(await render());
    expect(toml.core).toMatchObject({ port: '1056', shutdown_delay: 3, shutdown_timeout: 10, log_full_token: false, simulator: 'off' });
    expect(toml.log).toMatchObject({ access_log: 'stdout', error_log: 'stderr' });
    expect(Object.keys(toml).sort()).toEqual(['android', 'auth', 'core', 'feedback', 'ios', 'log', 'queue']);
  });

  it.each([
    ['token auth (values-prod.yaml)', prod, ['apns-key.p8', 'fcm-service-account.json']],
    ['certificate auth', certificateAuth, ['apns-cert.pem', 'apns-cert-key.pem', 'fcm-service-account.json']],
  ])('with %s, mounts the Secret read-only and points the TOML at its files', async (_n, opts, items) => {
    const objects = await render(opts);
    const d = deploymentOf(objects);
    const c = gatewayContainer(objects);
    const volume = d.spec!.template.spec!.volumes!.find((v) => v.secret)!;
    expect(volume.secret?.secretName).toBe('pushgate-credentials');
    expect(volume.secret?.items?.map((i) => i.path)).toEqual(items);
    const mount = c.volumeMounts!.find((m) => m.name === volume.name)!;
    expect(mount.readOnly).toBe(true);
    const files = items.map((i) => `${mount.mountPath}/${i}`);

    const toml = tomlOf(objects);
    const paths = [toml.ios.token_auth_key_path, toml.ios.pem_cert_path, toml.ios.pem_key_path, toml.android.service_account_path].filter(
      (p) => p !== '',
    );
    expect(paths.sort()).toEqual(files.sort());
    // The gateway refuses both iOS auth methods at once, and counts a key id or team id as token auth.
    const token = [toml.ios.token_auth_key_path, toml.ios.token_auth_key_id, toml.ios.token_auth_team_id];
    const cert = [toml.ios.pem_cert_path, toml.ios.pem_key_path];
    expect(token.every((v) => v === '') || cert.every((v) => v === '')).toBe(true);
    expect(toml.ios).not.toHaveProperty('pem_key_passphrase');
  });

  it('passes the certificate passphrase from the Secret as an env var, never through the ConfigMap', async () => {
    const objects = await render(certificateAuth);
    const env = gatewayContainer(objects).env ?? [];
    expect(env).toContainEqual({
      name: 'PUSHGATE_IOS_PEM_KEY_PASSPHRASE',
      valueFrom: { secretKeyRef: { name: 'pushgate-credentials', key: 'apns-cert-key-passphrase', optional: true } },
    });
    expect(await renderError({ set: { 'config.ios.pem_key_passphrase': 'hunter2' } })).toMatch(/ConfigMap/);
  });

  it('points every replica at one Redis queue with the URL from a Secret, never through the ConfigMap', async () => {
    const memory = gatewayContainer(await render()).env ?? [];
    expect(memory.filter((e) => e.name.startsWith('PUSHGATE_QUEUE_'))).toEqual([]);
    const objects = await render({
      set: { 'queue.backend': 'redis', 'queue.redis.existingSecret': 'pushgate-redis', 'queue.redis.claimIdleSeconds': 10 },
    });
    validateAll(objects);
    const env = gatewayContainer(objects).env ?? [];
    expect(env).toEqual(
      expect.arrayContaining([
        { name: 'PUSHGATE_QUEUE_BACKEND', value: 'redis' },
        { name: 'PUSHGATE_QUEUE_REDIS_URL', valueFrom: { secretKeyRef: { name: 'pushgate-redis', key: 'redis-url' } } },
        { name: 'PUSHGATE_QUEUE_REDIS_PREFIX', value: 'pushgate' },
        { name: 'PUSHGATE_QUEUE_CLAIM_IDLE', value: '10' },
        { name: 'PUSHGATE_QUEUE_DEAD_LETTER_TTL', value: '604800' },
      ]),
    );
    expect(JSON.stringify(one(objects, 'ConfigMap'))).not.toMatch(/redis/);
    expect(await renderError({ set: { 'queue.backend': 'redis' } })).toMatch(/queue.redis.existingSecret/);
    expect(await renderError({ set: { 'queue.backend': 'kafka' } })).toMatch(/memory or redis/);
  });

  it('disables a platform whose credentials the Secret does not carry', async () => {
    const toml = tomlOf(await render({ valuesFiles: [prodValues], set: { 'credentials.apnsAuth': 'none' } }));
    expect(toml.ios.enabled).toBe(false);
    expect(toml.android.enabled).toBe(true);
    const toml2 = tomlOf(await render({ valuesFiles: [prodValues], set: { 'credentials.fcm': false } }));
    expect(toml2.android.enabled).toBe(false);
    expect(toml2.android.service_account_path).toBe('');
  });

  it('gives each named app its own Secret, mounted read-only, and a TOML the gateway loads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pushgate-chart-apps-'));
    try {
      const valuesFile = join(dir, 'apps.yaml');
      writeFileSync(
        valuesFile,
        [
          'apps:',
          '  brand_b:',
          '    existingSecret: brand-b-credentials',
          '    in_flight_max: 100',
          '    ios: {topic: com.example.b, token_auth_key_id: KEYB123456, token_auth_team_id: TEAMB12345, sandbox: false}',
          '    android: {retry_max: 3}',
          '  brand_c:',
          '    existingSecret: brand-c-credentials',
          '    apnsAuth: certificate',
          '    fcm: false',
          '    ios: {topic: com.example.c}',
        ].join('\n'),
      );
      const objects = await render({ valuesFiles: [prodValues, valuesFile], setString: { 'credentials.mountPath': join(dir, 'secrets') } });
      validateAll(objects);
      const d = deploymentOf(objects);
      const c = gatewayContainer(objects);
      const volumes = d.spec!.template.spec!.volumes!;
      const items = (secret: string) => volumes.find((v) => v.secret?.secretName === secret)?.secret?.items?.map((i) => i.path);
      expect(items('brand-b-credentials')).toEqual(['apns-key.p8', 'fcm-service-account.json']);
      expect(items('brand-c-credentials')).toEqual(['apns-cert.pem', 'apns-cert-key.pem']);
      for (const secret of ['brand-b-credentials', 'brand-c-credentials']) {
        const volume = volumes.find((v) => v.secret?.secretName === secret)!;
        const mount = c.volumeMounts!.find((m) => m.name === volume.name)!;
        expect(mount.readOnly).toBe(true);
        expect(mount.mountPath).toBe(join(dir, 'secrets', 'apps', secret === 'brand-b-credentials' ? 'brand_b' : 'brand_c'));
      }
      expect(c.env).toContainEqual({
        name: 'PUSHGATE_APPS_BRAND_C_IOS_PEM_KEY_PASSPHRASE',
        valueFrom: { secretKeyRef: { name: 'brand-c-credentials', key: 'apns-cert-key-passphrase', optional: true } },
      });

      // The files the Secrets would hold, where the pod would see them: the gateway accepts the rendered TOML.
      const account = JSON.stringify({ project_id: 'p', client_email: 'e@example.com', private_key: 'k' });
      const files: Record<string, string> = {
        'secrets/apns-key.p8': 'key',
        'secrets/fcm-service-account.json': account,
        'secrets/apps/brand_b/apns-key.p8': 'key',
        'secrets/apps/brand_b/fcm-service-account.json': account,
        'secrets/apps/brand_c/apns-cert.pem': 'cert',
        'secrets/apps/brand_c/apns-cert-key.pem': 'key',
      };
      for (const [file, content] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, file)), { recursive: true });
        writeFileSync(join(dir, file), content);
      }
      const tomlPath = join(dir, 'pushgate.toml');
      writeFileSync(tomlPath, one<{ data: Record<string, string> }>(objects, 'ConfigMap').data['pushgate.toml']);
      const config = loadConfig({ path: tomlPath, env: {} });
      expect(Object.keys(config.apps).sort()).toEqual(['brand_b', 'brand_c', 'default']);
      expect(config.apps.brand_b).toMatchObject({
        in_flight_max: 100,
        ios: { topic: 'com.example.b', sandbox: false },
        android: { retry_max: 3 },
      });
      expect(config.apps.brand_c.ios.pem_cert_path).toBe(join(dir, 'secrets/apps/brand_c/apns-cert.pem'));
      expect(config.apps.brand_c.android.enabled).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses app names the gateway refuses, an app without a Secret, and app API keys in the ConfigMap', async () => {
    expect(await renderError({ set: { 'apps.Brand.existingSecret': 's' } })).toMatch(/apps.Brand: app names are lower-case/);
    expect(await renderError({ set: { 'apps.default.existingSecret': 's' } })).toMatch(/not "default"/);
    expect(await renderError({ set: { 'apps.b.ios.topic': 't' } })).toMatch(/apps.b needs existingSecret/);
    expect(await renderError({ set: { 'apps.b.existingSecret': 's', 'apps.b.api_keys': 'k' } })).toMatch(/PUSHGATE_APPS_B_API_KEYS/);
    expect(await renderError({ set: { 'apps.b.existingSecret': 's', 'apps.b.topic': 't' } })).toMatch(/apps.b.topic is not an app setting/);
  });

  it('leaves out keys set to null so the gateway default applies', async () => {
    const toml = tomlOf(await render({ set: { 'config.core.workers': null as unknown as string } }));
    expect(toml.core).not.toHaveProperty('workers');
  });

  it('changes the checksum/config annotation when, and only when, the config changes', async () => {
    const base = checksum(await render());
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(await render())).toBe(base);
    expect(checksum(await render({ set: { replicaCount: 3 } }))).toBe(base);
    expect(checksum(await render({ set: { 'config.core.workers': 9 } }))).not.toBe(base);
    expect(checksum(await render({ set: { 'config.log.level': 'debug' } }))).not.toBe(base);
    expect(checksum(await render(prod))).not.toBe(base);
  });
});

describe('hardening', () => {
  it.each([
    ['default values', {}],
    ['values-prod.yaml', prod],
  ])('pods run non-root, read-only, without capabilities or an API token (%s)', async (_n, opts: RenderOptions) => {
    const objects = await render(opts);
    const pods = [deploymentOf(objects).spec!.template.spec!, one<IPod>(objects, 'Pod').spec!];
    for (const pod of pods) {
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect([65532, 1000]).toContain(c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser);
        expect(c.resources?.requests).toBeDefined();
        expect(c.resources?.limits?.memory).toBeDefined();
      }
    }
    const sa = find(objects, 'ServiceAccount');
    for (const s of sa) expect((s as unknown as IServiceAccount).automountServiceAccountToken).toBe(false);
  });

  it('keeps service-link variables (PUSHGATE_SERVICE_PORT for a release named pushgate) out of the env', async () => {
    const objects = await render({ release: 'pushgate' });
    expect(one(objects, 'Service').metadata.name).toBe('pushgate');
    expect(deploymentOf(objects).spec!.template.spec!.enableServiceLinks).toBe(false);
  });

  it('gives the read-only container a writable /tmp', async () => {
    const objects = await render();
    const d = deploymentOf(objects);
    const mount = gatewayContainer(objects).volumeMounts?.find((m) => m.mountPath === '/tmp');
    const volume = d.spec!.template.spec!.volumes?.find((v) => v.name === mount?.name);
    expect(volume?.emptyDir).toBeDefined();
  });

  it('the NetworkPolicy admits the helm test pod when only labelled clients may connect', async () => {
    const objects = await render(prod);
    const np = one<INetworkPolicy>(objects, 'NetworkPolicy');
    const pod = one<IPod>(objects, 'Pod');
    const from = np.spec?.ingress?.[0].from ?? [];
    const podSelector = from.find((f) => f.podSelector)?.podSelector?.matchLabels ?? {};
    expect(Object.keys(podSelector).length).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(podSelector)) expect(pod.metadata?.labels?.[k]).toBe(v);
    expect(np.spec?.ingress?.[0].ports?.[0].port).toBe(1056);
  });
});

describe('scaling', () => {
  it('leaves replicas to the HPA when autoscaling is enabled', async () => {
    const objects = await render({ set: { 'autoscaling.enabled': true } });
    const d = deploymentOf(objects);
    expect(d.spec).not.toHaveProperty('replicas');
    const hpa = one<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler');
    expect(hpa.spec?.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata?.name });
    expect(deploymentOf(await render()).spec?.replicas).toBe(1);
  });

  it.each([
    ['one replica', {}, 0],
    ['two replicas', { replicaCount: 2 }, 1],
    ['HPA with minReplicas 1', { 'autoscaling.enabled': true, 'autoscaling.minReplicas': 1 }, 0],
    ['HPA with minReplicas 2', { 'autoscaling.enabled': true, 'autoscaling.minReplicas': 2 }, 1],
    ['two replicas, PDB disabled', { replicaCount: 2, 'podDisruptionBudget.enabled': false }, 0],
  ])('renders a PodDisruptionBudget only when more than one replica runs: %s', async (_n, set, count) => {
    const objects = await render({ set });
    const pdbs = find(objects, 'PodDisruptionBudget') as unknown as IPodDisruptionBudget[];
    expect(pdbs).toHaveLength(count);
    for (const pdb of pdbs) {
      expect(pdb.spec?.selector?.matchLabels).toEqual(deploymentOf(objects).spec?.selector.matchLabels);
    }
  });
});

describe('graceful shutdown budget', () => {
  const budget = (objects: K8sObject[]): { grace: number; needed: number } => {
    const pod = deploymentOf(objects).spec!.template.spec!;
    const preStop = gatewayContainer(objects).lifecycle?.preStop?.sleep?.seconds ?? 0;
    const core = tomlOf(objects).core as { shutdown_delay: number; shutdown_timeout: number };
    return { grace: pod.terminationGracePeriodSeconds ?? 30, needed: preStop + core.shutdown_delay + core.shutdown_timeout };
  };

  it.each([
    ['default values', {}],
    ['values-prod.yaml', prod],
    ['a longer drain', { set: { 'config.core.shutdown_timeout': 60, preStopSleepSeconds: 15 } }],
  ])('terminationGracePeriodSeconds exceeds preStop + shutdown_delay + shutdown_timeout (%s)', async (_n, opts) => {
    const objects = await render(opts);
    const { grace, needed } = budget(objects);
    expect(gatewayContainer(objects).lifecycle?.preStop?.sleep?.seconds).toBeGreaterThan(0);
    expect(grace).toBeGreaterThan(needed);
  });

  it('refuses an explicit grace period that is too short and accepts one that fits', async () => {
    expect(await renderError({ set: { terminationGracePeriodSeconds: 18 } })).toMatch(/terminationGracePeriodSeconds/);
    const objects = await render({ set: { terminationGracePeriodSeconds: 60 } });
    expect(budget(objects).grace).toBe(60);
  });
});

describe('release naming', () => {
  it('two releases in one namespace share no object names', async () => {
    const [a, b] = await Promise.all([render({ release: 'a', ...everything }), render({ release: 'b', ...everything })]);
    const names = (objects: K8sObject[]) => new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
    const namesA = names(a);
    expect(namesA.size).toBe(a.length);
    for (const n of names(b)) expect(namesA).not.toContain(n);
    const selA = deploymentOf(a).spec?.selector.matchLabels;
    const selB = deploymentOf(b).spec?.selector.matchLabels;
    expect(selA).not.toEqual(selB);
    for (const o of a) expect(o.metadata.labels?.['app.kubernetes.io/instance']).toBe('a');
  });

  it('truncates long release names to valid object names', async () => {
    const release = 'a'.repeat(53);
    const objects = await render({ release, ...everything });
    for (const o of objects) expect(o.metadata.name.length).toBeLessThanOrEqual(63);
    validateAll(objects);
  });
});

describe('NOTES.txt', () => {
  // helm renders NOTES.txt only on install, which needs a cluster; render it through a copy of the chart
  // with one extra template instead.
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pushgate-notes-'));
    cpSync(chartDir, dir, { recursive: true });
    cpSync(join(chartDir, 'templates', 'NOTES.txt'), join(dir, 'notes-preview.txt'));
    writeFileSync(
      join(dir, 'templates', 'notes-preview.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n' +
        '  notes: {{ tpl (.Files.Get "notes-preview.txt") . | toJson }}\n',
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const notes = async (opts: RenderOptions): Promise<string> => {
    const objects = await render({ ...opts, chart: dir, extraArgs: ['--show-only', 'templates/notes-preview.yaml'] });
    return one<{ data: { notes: string } }>(objects, 'ConfigMap').data.notes;
  };

  it('says the pods refuse to start without credentials, or deliver to the simulator when it is allowed', async () => {
    expect(await notes({})).toMatch(/NO CREDENTIALS: THE PODS WILL NOT START/);
    expect(await notes({ set: { 'config.core.simulator': 'auto' } })).toMatch(/SIMULATOR MODE/);
    expect(await notes({ set: { 'config.core.simulator': 'auto' } })).toContain('credentials.existingSecret');
    expect(await notes({})).toContain('credentials.existingSecret');
    expect(await notes(prod)).not.toMatch(/simulator/i);
  });
});
