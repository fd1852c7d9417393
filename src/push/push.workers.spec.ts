import pino from 'pino';
import { CONFIG_DEFAULTS, type AppConfig, type PushgateConfig } from '../config/pushgate.config';
import type { ProviderRegistry } from '../provider/provider.registry';
import { SENT, type SendResult } from '../provider/provider.result';
import { SendRetryPolicy } from '../provider/provider.retry';
import { PushCounters } from './push.counters';
import type { NotificationDto } from './push.dto';
import { PushEvents, type SettledPush } from './push.events';
import { MemoryPushQueue, type Push, type QueuedNotification } from './push.queue';
import { PushWorkers } from './push.workers';

const PLATFORM_ANDROID = 2;

function app(inFlightMax = 0): AppConfig {
  return { ios: CONFIG_DEFAULTS.ios, android: CONFIG_DEFAULTS.android, in_flight_max: inFlightMax, api_keys: '' };
}

function notification(appName: string, tokens: string[]): QueuedNotification {
  const dto = { token: tokens, platform: PLATFORM_ANDROID, message: 'm', app: appName } as NotificationDto;
  return {
    dto,
    platform: PLATFORM_ANDROID,
    app: appName,
    fcm: { head: '', tail: '' },
    idPrefix: `${appName}-`,
    acceptedAt: 0,
    access: pino({ enabled: false }),
  };
}

function tokens(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/**
 * Workers over an in-memory queue (or one that cannot choose by app) and a stand-in FCM whose sends to tokens starting with `hang` stay unanswered
 * until released; concurrency 1 x (3 + 1) = 4.
 */
function setup(apps: Record<string, AppConfig>, unselective = false) {
  const config = { ...CONFIG_DEFAULTS, core: { ...CONFIG_DEFAULTS.core, workers: 1, pusher_max: 3 }, apps } as unknown as PushgateConfig;
  const queue = unselective ? new UnselectiveQueue(1000) : new MemoryPushQueue(1000);
  const events = new PushEvents();
  const settled: SettledPush[] = [];
  events.onSettled((e) => settled.push(e));
  const hanging: { token: string; release: (result: SendResult) => void }[] = [];
  const fcm = {
    send: (_app: string, token: string) =>
      token.startsWith('hang') ? new Promise<SendResult>((release) => hanging.push({ token, release })) : Promise.resolve(SENT),
  };
  const providers = { of: () => fcm } as unknown as ProviderRegistry;
  const workers = new PushWorkers(config, queue, new PushCounters(), events, providers, new SendRetryPolicy(config));
  const offer = (n: QueuedNotification) => {
    queue.offer([n]);
    workers.pump();
  };
  return { workers, queue, settled, hanging, offer };
}

/** A queue that hands out pushes in order whatever their app, as the Redis queue does. */
class UnselectiveQueue extends MemoryPushQueue {
  override take(max: number): Push[] {
    return super.take(max);
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await turn();
}

describe('PushWorkers app lanes', () => {
  it('keeps three quarters of the senders for a hanging app, so another app still gets through', async () => {
    const { workers, queue, settled, hanging, offer } = setup({ slow: app(), fast: app() });
    offer(notification('slow', tokens('hang', 10)));
    await turns(3);
    expect(hanging).toHaveLength(3);
    // The rest of its pushes wait in the queue, behind nothing and in front of nobody.
    expect(workers.appActivity().slow).toEqual({ in_flight: 3, parked: 0 });
    expect(queue.size).toBe(7);

    offer(notification('fast', tokens('ok', 5)));
    await turns(10);
    expect(settled.filter((s) => s.push.notification.app === 'fast')).toHaveLength(5);
    expect(hanging).toHaveLength(3);
    expect(workers.active).toBe(3);
    expect(queue.size).toBe(7);
  });

  it("parks what a queue that cannot choose by app hands out over an app's limit", async () => {
    const { workers, hanging, offer } = setup({ slow: app(), fast: app() }, true);
    offer(notification('slow', tokens('hang', 5)));
    await turns(3);
    expect(hanging).toHaveLength(3);
    expect(workers.appActivity().slow).toEqual({ in_flight: 3, parked: 2 });
    hanging.shift()!.release(SENT);
    await turns(3);
    expect(hanging.map((h) => h.token)).toEqual(['hang1', 'hang2', 'hang3']);
    expect(workers.appActivity().slow).toEqual({ in_flight: 3, parked: 1 });
  });

  it('holds an app to its in_flight_max and starts its parked pushes oldest first as sends end', async () => {
    const { workers, hanging, settled, offer } = setup({ default: app(2), other: app() });
    offer(notification('default', tokens('hang', 5)));
    await turns(3);
    expect(hanging.map((h) => h.token)).toEqual(['hang0', 'hang1']);
    expect(workers.appActivity().default.in_flight).toBe(2);

    hanging.shift()!.release(SENT);
    await turns(3);
    expect(settled.map((s) => s.token)).toEqual(['hang0']);
    expect(hanging.map((h) => h.token)).toEqual(['hang1', 'hang2']);
    expect(workers.appActivity().default.in_flight).toBe(2);
  });

  it('lets a single app use every sender', async () => {
    const { workers, hanging, offer } = setup({ default: app() });
    offer(notification('default', tokens('hang', 6)));
    await turns(3);
    expect(hanging).toHaveLength(4);
    expect(workers.active).toBe(workers.concurrency);
    expect(workers.parked).toBe(0);
  });
});
