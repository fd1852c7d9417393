import { Counter, Registry } from 'prom-client';
import { OTHER_REASON, ReasonLabels } from './metrics.labels';

describe('reason labels', () => {
  it('creates one child per reason and reuses it', () => {
    const created: string[] = [];
    const labels = new ReasonLabels((reason) => {
      created.push(reason);
      return { reason };
    });
    expect(labels.get('BadDeviceToken')).toBe(labels.get('BadDeviceToken'));
    expect(created).toEqual(['BadDeviceToken']);
  });

  it('bounds the label values: beyond the limit, and anything but a plain name, counts as other', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'failures_total', help: 'h', labelNames: ['reason'] as const, registers: [registry] });
    const labels = new ReasonLabels((reason) => counter.labels(reason), 3);
    for (const reason of ['A', 'B', 'C', 'D', 'E', 'A', 'token abc123', 'x'.repeat(65), 'other']) labels.get(reason).inc();
    const values = (await counter.get()).values.map((v) => [v.labels.reason, v.value]);
    expect(Object.fromEntries(values)).toEqual({ A: 2, B: 1, C: 1, [OTHER_REASON]: 5 });
  });
});
