import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { haveRedisServer, RedisServer } from '../../test/redis/support';
import { loadConfig, PushgateConfigModule } from '../config/pushgate.config';
import { PushPreparer } from '../push/push.preparer';
import { PushQueue, type QueuedNotification } from '../push/push.queue';
import { payloadPreparer } from '../../test/support/preparer';
import { RedisPushQueue } from './redis.queue';

function notification(tokens: string[], idPrefix: string): QueuedNotification {
  return payloadPreparer().prepare({ token: tokens, platform: 1, message: 'm' }, idPrefix, Date.now());
}

/** The queue as the gateway provides it, under its own prefix, started (connected) and stopped by Nest. */
async function startQueue(url: string, prefix: string): Promise<{ app: INestApplicationContext; queue: RedisPushQueue }> {
  const config = loadConfig({
    env: { PUSHGATE_QUEUE_BACKEND: 'redis', PUSHGATE_QUEUE_REDIS_URL: url, PUSHGATE_QUEUE_REDIS_PREFIX: prefix },
  });
  const moduleRef = await Test.createTestingModule({
    imports: [PushgateConfigModule.forRoot(config)],
    providers: [
      { provide: PushPreparer, useValue: payloadPreparer(config.apps) },
      RedisPushQueue,
      { provide: PushQueue, useExisting: RedisPushQueue },
    ],
  }).compile();
  const app = await moduleRef.init();
  return { app, queue: app.get(RedisPushQueue) };
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return check();
}

(haveRedisServer() ? describe : describe.skip)('RedisPushQueue (real redis-server)', () => {
  let redis: RedisServer;
  let client: Redis;

  beforeAll(async () => {
    redis = await RedisServer.start();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client.disconnect();
    await redis.close();
  });

  it('keeps writing settled pushes after a scheduled write found them already written', async () => {
    const { app, queue } = await startQueue(redis.url, 'flush');
    try {
      expect(await queue.offer([notification(['a', 'b', 'c'], 'n1-')])).toBe(true);
      const pushes = await queue.take(3);
      expect(pushes).toHaveLength(3);

      queue.settle(pushes[0], { ok: true });
      // A write already under way picks up what settled meanwhile, before the write scheduled for it runs (a race
      // between a Redis reply and a timer): forced here, so that the scheduled write finds nothing left to do.
      await queue['flush']();
      expect(queue.size).toBe(2);
      await new Promise((r) => setTimeout(r, 50));

      queue.settle(pushes[1], { ok: true });
      queue.settle(pushes[2], { ok: true });
      expect(await until(() => queue.size === 0, 3000)).toBe(true);
      expect(await client.get('{flush}:depth')).toBe('0');
      expect(await client.xlen('{flush}:stream')).toBe(0);
      expect(await client.xpending('{flush}:stream', 'pushgate')).toEqual([0, null, null, null]);
    } finally {
      await app.close();
    }
  });

  it('keeps a push that settled failed as a dead letter with the reason it was settled with', async () => {
    const { app, queue } = await startQueue(redis.url, 'dead');
    try {
      expect(await queue.offer([notification(['ok-token', 'dead-token'], 'n2-')])).toBe(true);
      const [ok, dead] = await queue.take(2);
      queue.settle(ok, { ok: true });
      queue.settle(dead, { ok: false, reason: 'BadDeviceToken' });
      expect(await until(() => queue.size === 0, 3000)).toBe(true);
      const { items } = await queue.deadLetters(10);
      expect(items.map((d) => [d.id, d.token, d.reason])).toEqual([['n2-1', 'dead-token', 'BadDeviceToken']]);
      expect(await client.xlen('{dead}:stream')).toBe(0);
    } finally {
      await app.close();
    }
  });
});
