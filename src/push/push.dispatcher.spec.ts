import { Test } from '@nestjs/testing';
import { CONFIG_DEFAULTS, PushgateConfigModule, type AppConfig, type PushgateConfig } from '../config/pushgate.config';
import { ProviderRegistry } from '../provider/provider.registry';
import { SENT, type SendResult } from '../provider/provider.result';
import { SendRetryPolicy } from '../provider/provider.retry';
import { PushCounters } from './push.counters';
import type { NotificationDto } from '../notification/notification.dto';
import { PushEvents, type RetriedPush, type SettledPush } from './push.events';
import { MemoryPushQueue, PushQueue, type Push, type PushOutcome, type QueuedNotification } from './push.queue';
import { PushDispatcher } from './push.dispatcher';

const PLATFORM_ANDROID = 2;

function app(inFlightMax = 0): AppConfig {
  return { ios: CONFIG_DEFAULTS.ios, android: CONFIG_DEFAULTS.android, in_flight_max: inFlightMax, api_keys: '' };
}

function notification(appName: string, tokens: string[]): QueuedNotification {
  const dto = { token: tokens, platform: PLATFORM_ANDROID, message: 'm', app: appName } as NotificationDto;
  return { dto, platform: PLATFORM_ANDROID, app: appName, fcm: { head: '', tail: '' }, idPrefix: `${appName}-`, acceptedAt: 0 };
}

function tokens(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** A queue that hands out pushes in order whatever their app, as the Redis queue does. */
class UnselectiveQueue extends MemoryPushQueue {
  override take(max: number): Push[] {
    return super.take(max);
  }
}

/** What the stand-in FCM answers for a token: by its prefix. */
function answer(token: string, hanging: { token: string; release: (result: SendResult) => void }[]): Promise<SendResult> {
  if (token.startsWith('hang')) return new Promise<SendResult>((release) => hanging.push({ token, release }));
  if (token.startsWith('bad')) return Promise.resolve({ ok: false, reason: 'BadToken', retryable: false });
  return Promise.resolve(SENT);
}

/**
 * The dispatcher built by Nest over an in-memory queue (or one that cannot choose by app), the real events and counters, and
 * a stand-in FCM whose sends to tokens starting with `hang` stay unanswered until released and to tokens starting
 * with `bad` fail for good; concurrency 1 x (3 + 1) = 4.
 */
async function setup(apps: Record<string, AppConfig>, unselective = false) {
  const config: PushgateConfig = {
    ...CONFIG_DEFAULTS,
    core: { ...CONFIG_DEFAULTS.core, workers: 1, pusher_max: 3 },
    apps,
    simulator: false,
    unknown_keys: [],
  };
  const hanging: { token: string; release: (result: SendResult) => void }[] = [];
  const moduleRef = await Test.createTestingModule({
    imports: [PushgateConfigModule.forRoot(config)],
    providers: [
      PushDispatcher,
      PushEvents,
      PushCounters,
      { provide: PushQueue, useClass: unselective ? UnselectiveQueue : MemoryPushQueue },
      SendRetryPolicy,
      { provide: ProviderRegistry, useValue: { of: () => ({ send: (_app: string, token: string) => answer(token, hanging) }) } },
    ],
  }).compile();
  const dispatcher = moduleRef.get(PushDispatcher);
  const queue = moduleRef.get(PushQueue);
  const events = moduleRef.get(PushEvents);
  const settled: SettledPush[] = [];
  events.onSettled((e) => settled.push(e));
  const offer = (n: QueuedNotification) => {
    void queue.offer([n]);
    dispatcher.pump();
  };
  return { dispatcher, queue, events, counters: moduleRef.get(PushCounters), settled, hanging, offer };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await turn();
}

describe('PushDispatcher app lanes', () => {
  it('keeps three quarters of the senders for a hanging app, so another app still gets through', async () => {
    const { dispatcher, queue, settled, hanging, offer } = await setup({ slow: app(), fast: app() });
    offer(notification('slow', tokens('hang', 10)));
    await turns(3);
    expect(hanging).toHaveLength(3);
    // The rest of its pushes wait in the queue, behind nothing and in front of nobody.
    expect(dispatcher.appActivity().slow).toEqual({ in_flight: 3, parked: 0 });
    expect(queue.size).toBe(7);

    offer(notification('fast', tokens('ok', 5)));
    await turns(10);
    expect(settled.filter((s) => s.push.notification.app === 'fast')).toHaveLength(5);
    expect(hanging).toHaveLength(3);
    expect(dispatcher.active).toBe(3);
    expect(queue.size).toBe(7);
  });

  it("parks what a queue that cannot choose by app hands out over an app's limit", async () => {
    const { dispatcher, hanging, offer } = await setup({ slow: app(), fast: app() }, true);
    offer(notification('slow', tokens('hang', 5)));
    await turns(3);
    expect(hanging).toHaveLength(3);
    expect(dispatcher.appActivity().slow).toEqual({ in_flight: 3, parked: 2 });
    hanging.shift()!.release(SENT);
    await turns(3);
    expect(hanging.map((h) => h.token)).toEqual(['hang1', 'hang2', 'hang3']);
    expect(dispatcher.appActivity().slow).toEqual({ in_flight: 3, parked: 1 });
  });

  it('holds an app to its in_flight_max and starts its parked pushes oldest first as sends end', async () => {
    const { dispatcher, hanging, settled, offer } = await setup({ default: app(2), other: app() });
    offer(notification('default', tokens('hang', 5)));
    await turns(3);
    expect(hanging.map((h) => h.token)).toEqual(['hang0', 'hang1']);
    expect(dispatcher.appActivity().default.in_flight).toBe(2);

    hanging.shift()!.release(SENT);
    await turns(3);
    expect(settled.map((s) => s.token)).toEqual(['hang0']);
    expect(hanging.map((h) => h.token)).toEqual(['hang1', 'hang2']);
    expect(dispatcher.appActivity().default.in_flight).toBe(2);
  });

  it('lets a single app use every sender', async () => {
    const { dispatcher, hanging, offer } = await setup({ default: app() });
    offer(notification('default', tokens('hang', 6)));
    await turns(3);
    expect(hanging).toHaveLength(4);
    expect(dispatcher.active).toBe(dispatcher.concurrency);
    expect(dispatcher.parked).toBe(0);
  });
});

async function waitFor(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('PushDispatcher outcomes', () => {
  it('ends each push with one settled event, which the queue and the counters follow', async () => {
    const { queue, counters, settled, offer } = await setup({ default: app() });
    const acknowledged: [string, PushOutcome][] = [];
    const settle = queue.settle.bind(queue);
    queue.settle = (push, outcome) => {
      acknowledged.push([push.notification.idPrefix + push.index, outcome]);
      settle(push, outcome);
    };
    offer(notification('default', ['ok0', 'bad1', 'ok2']));
    await waitFor(() => settled.length === 3);
    await turns(3);
    expect(settled).toHaveLength(3);
    expect(settled.map((s) => [s.id, s.token, s.outcome.ok])).toEqual([
      ['default-0', 'ok0', true],
      ['default-1', 'bad1', false],
      ['default-2', 'ok2', true],
    ]);
    expect(acknowledged).toEqual(settled.map((s) => [s.id, s.outcome]));
    expect(acknowledged[1][1]).toEqual({ ok: false, reason: 'BadToken', detail: undefined });
    expect(counters.android).toEqual({ push_success: 2, push_error: 1, retries: 0, errors: { BadToken: 1 } });
    expect(counters.apps.default.android).toEqual(counters.android);
  });

  it('counts a retry from the retried event, and the push once when it finally ends', async () => {
    const { counters, settled, hanging, events, offer } = await setup({ default: app() });
    const retried: RetriedPush[] = [];
    events.onRetried((e) => retried.push(e));
    offer(notification('default', ['hang0']));
    await waitFor(() => hanging.length === 1);
    hanging.shift()!.release({ ok: false, reason: 'Timeout', retryable: true });
    await waitFor(() => hanging.length === 1);
    expect(retried.map((r) => r.reason)).toEqual(['Timeout']);
    expect(counters.android.retries).toBe(1);
    expect(settled).toEqual([]);
    hanging.shift()!.release(SENT);
    await waitFor(() => settled.length === 1);
    expect(counters.android).toEqual({ push_success: 1, push_error: 0, retries: 1, errors: {} });
  });
});
