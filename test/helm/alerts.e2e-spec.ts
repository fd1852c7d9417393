import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { chartDir, one, render } from './chart';

const run = promisify(execFile);
jest.setTimeout(60_000);

/** True when Prometheus' `promtool` is on PATH (`.ci/run` installs Debian's `prometheus` package where it is missing). */
const havePromtool = spawnSync('promtool', ['--version']).status === 0;

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: Rule[];
}

const job = 'pg-pushgate';
const namespace = 'push';
const base = `job="${job}",namespace="${namespace}",instance="10.0.0.1:1056"`;
const target = { job, namespace };

async function promtool(args: string[], cwd: string): Promise<string> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
}

/**
 * The series among `names` that the gateway's metrics sources do not declare: as a prom-client `name:` option, or as
 * the name given to `scrapedGauge` / `scrapedCounter`. A histogram's `_bucket`, `_count` and `_sum` are its own name.
 */
function undeclared(names: Iterable<string>): string[] {
  const sources = ['src/metrics/metrics.service.ts', 'src/feedback/feedback.service.ts']
    .map((f) => readFileSync(join(chartDir, '..', '..', f), 'utf8'))
    .join('\n');
  return [...names].filter((name) => {
    const base = name.replace(/_(bucket|count|sum)$/, '');
    return !sources.includes(`name: '${base}'`) && !new RegExp(`scraped(Gauge|Counter)\\(\\s*registers,\\s*'${base}'`).test(sources);
  });
}

/** An input series of this release's target. */
const series = (name: string, labels: string, values: string) => ({ series: `${name}{${base}${labels ? `,${labels}` : ''}}`, values });
const alternating = (high: number, low: number, n: number) => Array.from({ length: n }, (_, i) => (i % 2 === 0 ? high : low)).join(' ');

(havePromtool ? describe : describe.skip)('PrometheusRule (promtool; skipped when the prometheus package is not installed)', () => {
  let dir: string;
  let groups: RuleGroup[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pushgate-alerts-'));
    const rule = one<{ spec: { groups: RuleGroup[] } }>(
      await render({ release: 'pg', set: { 'metrics.prometheusRule.enabled': true } }),
      'PrometheusRule',
    );
    groups = rule.spec.groups;
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
    // Annotations are templates that `check rules` parses; the unit test compares labels only.
    const bare = groups.map((g) => ({ ...g, rules: g.rules.map(({ annotations: _a, ...r }) => r) }));
    writeFileSync(join(dir, 'rules-bare.yaml'), stringify({ groups: bare }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes promtool check rules, with every alert the docs describe', async () => {
    expect(await promtool(['check', 'rules', 'rules.yaml'], dir)).toMatch(/SUCCESS: 8 rules found/);
    const names = groups.flatMap((g) => g.rules.map((r) => r.alert));
    const docs = readFileSync(join(chartDir, '..', '..', 'docs', 'operations.md'), 'utf8');
    for (const name of names) expect(docs).toContain(`\`${name}\``);
  });

  it('uses only metrics the gateway exports', () => {
    const used = new Set(groups.flatMap((g) => g.rules.flatMap((r) => r.expr.match(/pushgate_[a-z_]+/g) ?? [])));
    expect(used.size).toBeGreaterThan(5);
    expect(undeclared(used)).toEqual([]);
  });

  it('fires each alert on series that should raise it, and none on a healthy gateway', async () => {
    const severity = (s: string) => ({ severity: s });
    const tests = [
      {
        name: 'failure ratio by reason',
        interval: '1m',
        input_series: [
          series('pushgate_pushes_total', 'platform="ios",outcome="failed",reason="BadDeviceToken"', '0+10x40'),
          series('pushgate_pushes_total', 'platform="ios",outcome="succeeded",reason=""', '0+90x40'),
          // 1% failed: below the 5% threshold.
          series('pushgate_pushes_total', 'platform="android",outcome="failed",reason="UNAVAILABLE"', '0+1x40'),
          series('pushgate_pushes_total', 'platform="android",outcome="succeeded",reason=""', '0+99x40'),
        ],
        alert_rule_test: [
          {
            eval_time: '20m',
            alertname: 'PushgateFailureRatioHigh',
            exp_alerts: [{ exp_labels: { ...target, platform: 'ios', reason: 'BadDeviceToken', ...severity('warning') } }],
          },
        ],
      },
      {
        name: 'queue saturation and readiness flapping',
        interval: '1m',
        input_series: [
          series('pushgate_queue_depth', '', '7000x40'),
          series('pushgate_queue_capacity', '', '8192x40'),
          {
            series: `pushgate_queue_depth{job="${job}",namespace="${namespace}",instance="10.0.0.2:1056"}`,
            values: alternating(9500, 100, 41),
          },
          { series: `pushgate_queue_capacity{job="${job}",namespace="${namespace}",instance="10.0.0.2:1056"}`, values: '10000x40' },
        ],
        alert_rule_test: [
          {
            eval_time: '10m',
            alertname: 'PushgateQueueSaturated',
            exp_alerts: [{ exp_labels: { ...target, instance: '10.0.0.1:1056', ...severity('warning') } }],
          },
          {
            eval_time: '20m',
            alertname: 'PushgateReadinessFlapping',
            exp_alerts: [{ exp_labels: { ...target, instance: '10.0.0.2:1056', ...severity('warning') } }],
          },
        ],
      },
      {
        name: 'refusals, certificate expiry, accept latency, invalid tokens, connection churn',
        interval: '1m',
        input_series: [
          series('pushgate_push_request_duration_seconds_count', 'code="503"', '0+60x40'),
          series('pushgate_apns_certificate_days_left', '', '10x40'),
          series('pushgate_push_request_duration_seconds_bucket', 'code="200",le="0.05"', '0+10x40'),
          series('pushgate_push_request_duration_seconds_bucket', 'code="200",le="0.1"', '0+10x40'),
          series('pushgate_push_request_duration_seconds_bucket', 'code="200",le="0.25"', '0+100x40'),
          series('pushgate_push_request_duration_seconds_bucket', 'code="200",le="+Inf"', '0+100x40'),
          series('pushgate_feedback_invalid_tokens_total', 'platform="ios",reason="Unregistered"', '0+1200x40'),
          series('pushgate_push_retries_total', 'platform="android",reason="ConnectionError"', '0+60x40'),
          // Retries for a provider's answer are not connection churn.
          series('pushgate_push_retries_total', 'platform="ios",reason="TooManyRequests"', '0+600x40'),
        ],
        alert_rule_test: [
          { eval_time: '15m', alertname: 'PushgateRefusingPushes', exp_alerts: [{ exp_labels: { ...target, ...severity('critical') } }] },
          {
            eval_time: '15m',
            alertname: 'PushgateApnsCertificateExpiring',
            exp_alerts: [{ exp_labels: { ...target, ...severity('warning') } }],
          },
          { eval_time: '25m', alertname: 'PushgateAcceptLatencyHigh', exp_alerts: [{ exp_labels: { ...target, ...severity('warning') } }] },
          {
            eval_time: '25m',
            alertname: 'PushgateInvalidTokensSpike',
            exp_alerts: [{ exp_labels: { ...target, platform: 'ios', reason: 'Unregistered', ...severity('warning') } }],
          },
          {
            eval_time: '25m',
            alertname: 'PushgateProviderConnectionChurn',
            exp_alerts: [{ exp_labels: { ...target, platform: 'android', ...severity('warning') } }],
          },
        ],
      },
      {
        name: 'a healthy gateway',
        interval: '1m',
        input_series: [
          series('pushgate_pushes_total', 'platform="ios",outcome="succeeded",reason=""', '0+1000x40'),
          series('pushgate_pushes_total', 'platform="ios",outcome="failed",reason="Unregistered"', '0+5x40'),
          series('pushgate_queue_depth', '', '100x40'),
          series('pushgate_queue_capacity', '', '8192x40'),
          series('pushgate_push_request_duration_seconds_count', 'code="200"', '0+60x40'),
          series('pushgate_apns_certificate_days_left', '', '200x40'),
          series('pushgate_push_request_duration_seconds_bucket', 'code="200",le="0.01"', '0+100x40'),
          series('pushgate_push_request_duration_seconds_bucket', 'code="200",le="+Inf"', '0+100x40'),
          series('pushgate_feedback_invalid_tokens_total', 'platform="ios",reason="Unregistered"', '0+5x40'),
          series('pushgate_push_retries_total', 'platform="android",reason="ConnectionError"', '0+2x40'),
        ],
        alert_rule_test: alertNames().map((alertname) => ({ eval_time: '30m', alertname, exp_alerts: [] })),
      },
    ];
    const fired = tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname));
    expect(new Set(fired)).toEqual(new Set(alertNames()));
    writeFileSync(join(dir, 'rules.test.yaml'), stringify({ rule_files: ['rules-bare.yaml'], evaluation_interval: '1m', tests }));
    expect(await promtool(['test', 'rules', 'rules.test.yaml'], dir)).toMatch(/SUCCESS/);
  });

  function alertNames(): string[] {
    return groups.flatMap((g) => g.rules.map((r) => r.alert).filter((a): a is string => a !== undefined));
  }
});

(havePromtool ? describe : describe.skip)('Grafana dashboard (promtool; skipped when the prometheus package is not installed)', () => {
  it('ships as a ConfigMap for the Grafana sidecar, with queries Prometheus parses over metrics that exist', async () => {
    const objects = await render({ set: { 'metrics.dashboard.enabled': true } });
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1') as
      { data: Record<string, string> } | undefined;
    expect(cm).toBeDefined();
    const dashboard = JSON.parse(cm!.data['pushgate.json']) as { uid: string; panels: { targets: { expr: string }[] }[] };
    expect(dashboard).toEqual(JSON.parse(readFileSync(join(chartDir, 'files', 'dashboard.json'), 'utf8')));
    expect((await render()).filter((x) => x.metadata.labels?.grafana_dashboard)).toEqual([]);

    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    expect(undeclared(new Set(exprs.flatMap((e) => e.match(/pushgate_[a-z_]+/g) ?? [])))).toEqual([]);
    // Grafana's variables replaced by what they expand to, each query checked as a recording rule.
    const dir = mkdtempSync(join(tmpdir(), 'pushgate-dashboard-'));
    try {
      const rules = exprs.map((e, i) => ({
        record: `dashboard:query${i}`,
        expr: e.replace(/\$__rate_interval/g, '1m').replace(/\$(job|instance)/g, '.*'),
      }));
      writeFileSync(join(dir, 'queries.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
      expect(await promtool(['check', 'rules', 'queries.yaml'], dir)).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
