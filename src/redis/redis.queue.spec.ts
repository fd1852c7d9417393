import { Redis } from 'ioredis';
import pino from 'pino';
import { haveRedisServer, RedisServer } from '../../test/redis/support';
import { loadConfig } from '../config/pushgate.config';
import type { NotificationDto } from '../push/push.dto';
import { PushEvents } from '../push/push.events';
import type { PushPreparer } from '../push/push.preparer';
import type { QueuedNotification } from '../push/push.queue';
import { RedisPushQueue } from './redis.queue';

const preparer = {
  prepare: (dto: NotificationDto, idPrefix: string, acceptedAt: number, requestId?: string): QueuedNotification => ({
    dto,
    platform: dto.platform,
    app: dto.app ?? 'default',
    idPrefix,
    acceptedAt,
    requestId,
    access: pino({ enabled: false }),
  }),
} as PushPreparer;

function notification(tokens: string[], idPrefix: string): QueuedNotification {
  return preparer.prepare({ token: tokens, platform: 1, message: 'm' }, idPrefix, Date.now());
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
    const config = loadConfig({
      env: { PUSHGATE_QUEUE_BACKEND: 'redis', PUSHGATE_QUEUE_REDIS_URL: redis.url, PUSHGATE_QUEUE_REDIS_PREFIX: 'flush' },
    });
    const queue = new RedisPushQueue(config, preparer, new PushEvents());
    await queue.onModuleInit();
    try {
      expect(await queue.offer([notification(['a', 'b', 'c'], 'n1-')])).toBe(true);
      const pushes = await queue.take(3);
      expect(pushes).toHaveLength(3);

      queue.settle(pushes[0]);
      // A write already under way picks up what settled meanwhile, before the write scheduled for it runs (a race
      // between a Redis reply and a timer): forced here, so that the scheduled write finds nothing left to do.
      await queue['flush']();
      expect(queue.size).toBe(2);
      await new Promise((r) => setTimeout(r, 50));

      queue.settle(pushes[1]);
      queue.settle(pushes[2]);
      expect(await until(() => queue.size === 0, 3000)).toBe(true);
      expect(await client.get('{flush}:depth')).toBe('0');
      expect(await client.xlen('{flush}:stream')).toBe(0);
      expect(await client.xpending('{flush}:stream', 'pushgate')).toEqual([0, null, null, null]);
    } finally {
      queue.beforeApplicationShutdown();
      await queue.onApplicationShutdown();
    }
  });
});
