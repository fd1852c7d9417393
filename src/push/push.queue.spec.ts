import { loadConfig } from '../config/pushgate.config';
import type { NotificationDto } from '../notification/notification.dto';
import { MemoryPushQueue, pushId, pushToken, type QueuedNotification } from './push.queue';

function notification(tokens: string[], prefix = 'n-', app = 'default'): QueuedNotification {
  const dto = { token: tokens, platform: 1, message: 'm' } as NotificationDto;
  return { dto, platform: 1, app, idPrefix: prefix, acceptedAt: 0 };
}

/** The queue as the gateway builds it, for `core.queues` = capacity. */
function memoryQueue(capacity: number): MemoryPushQueue {
  return new MemoryPushQueue(loadConfig({ env: { PUSHGATE_CORE_QUEUES: String(capacity) } }).core);
}

describe('MemoryPushQueue', () => {
  it('admits all pushes of a request or none, counting tokens against the capacity', () => {
    const queue = memoryQueue(5);
    expect(queue.offer([notification(['a', 'b']), notification(['c', 'd'])])).toBe(true);
    expect(queue.size).toBe(4);
    expect(queue.offer([notification(['e']), notification(['f'])])).toBe(false);
    expect(queue.size).toBe(4);
    expect(queue.offer([notification(['e'])])).toBe(true);
    expect(queue.size).toBe(5);
  });

  it('hands out one push per token in order, retries first, and drains what is left', () => {
    const queue = memoryQueue(10);
    queue.offer([notification(['a', 'b'], 'x-'), notification(['c'], 'y-')]);
    const first = queue.take(1)[0];
    expect([pushToken(first), pushId(first), first.attempt]).toEqual(['a', 'x-0', 0]);
    first.attempt = 1;
    queue.retry(first);
    expect(queue.size).toBe(3);
    expect(queue.take(1)).toEqual([first]);
    expect(pushToken(queue.take(1)[0])).toBe('b');
    expect(queue.drain().map(pushToken)).toEqual(['c']);
    queue.offer([notification(['d', 'e', 'f'])]);
    expect(queue.take(2).map(pushToken)).toEqual(['d', 'e']);
    expect(queue.take(0)).toEqual([]);
    expect(queue.take(9).map(pushToken)).toEqual(['f']);
    expect(queue.size).toBe(0);
    expect(queue.take(5)).toEqual([]);
  });

  it('keeps working across many notifications (compaction of consumed entries)', () => {
    const queue = memoryQueue(100_000);
    for (let i = 0; i < 5000; i++) queue.offer([notification([`t${i}`])]);
    for (let i = 0; i < 5000; i++) expect(pushToken(queue.take(1)[0])).toBe(`t${i}`);
    expect(queue.size).toBe(0);
  });

  it('serves apps in turn and hands out no more of an app than it has room for', () => {
    const queue = memoryQueue(100);
    queue.offer([notification(['a1', 'a2', 'a3'], 'a-', 'a'), notification(['b1', 'b2'], 'b-', 'b')]);
    const room = (app: string) => (app === 'a' ? 0 : 1);
    expect(queue.take(10, room).map(pushToken)).toEqual(['b1']);
    expect(queue.take(10, room).map(pushToken)).toEqual(['b2']);
    expect(queue.take(10, room)).toEqual([]);
    expect(queue.size).toBe(3);
    const [a1] = queue.take(1);
    queue.retry(a1);
    expect(queue.size).toBe(3);
    expect(queue.take(10, () => 2).map(pushToken)).toEqual(['a1', 'a2']);
    expect(queue.take(10).map(pushToken)).toEqual(['a3']);
    expect(queue.size).toBe(0);
  });
});
