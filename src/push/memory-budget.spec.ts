import { CONFIG_DEFAULTS } from '../config/pushgate.config';
import type { NotificationDto } from '../notification/notification.dto';
import { AUTO_BUDGET_HEAP_SHARE, bytesPerPush, MemoryBudget, MemoryBudgetException, memoryBudgetBytes } from './memory-budget';
import { PushEvents } from './push.events';
import type { Push, QueuedNotification } from './push.queue';

function notification(tokens: number, message = 'hello'): QueuedNotification {
  const dto = { token: Array.from({ length: tokens }, (_, i) => `token-${i}`), platform: 1, message } as unknown as NotificationDto;
  return { dto, platform: 1, app: 'default', idPrefix: 'x-', acceptedAt: 0 };
}

function settle(events: PushEvents, n: QueuedNotification, index: number): void {
  const push: Push = { notification: n, index, attempt: 0 };
  events.emitSettled({ push, id: `x-${index}`, platform: 'ios', token: n.dto.token[index], outcome: { ok: true }, ptime: 0 });
}

function budget(bytes: number): { budget: MemoryBudget; events: PushEvents } {
  const events = new PushEvents();
  return { budget: new MemoryBudget({ ...CONFIG_DEFAULTS.core, memory_budget: bytes }, events), events };
}

describe('memoryBudgetBytes', () => {
  it('is the configured value, or a share of the heap limit when 0', () => {
    expect(memoryBudgetBytes(5_000_000, 400_000_000)).toBe(5_000_000);
    expect(memoryBudgetBytes(0, 400_000_000)).toBe(400_000_000 * AUTO_BUDGET_HEAP_SHARE);
  });
});

describe('MemoryBudget', () => {
  it('admits what fits and refuses, reserving nothing, what would go over', () => {
    const a = notification(10);
    const b = notification(10);
    const { budget: mb, events } = budget(bytesPerPush(a) * 10 + 1);
    expect(mb.admit([a])).toBe(bytesPerPush(a) * 10);
    expect(mb.used).toBe(bytesPerPush(a) * 10);
    expect(() => mb.admit([b])).toThrow(MemoryBudgetException);
    expect(mb.used).toBe(bytesPerPush(a) * 10);
    expect(mb.refused).toBe(1);
    // Nothing of a refused notification was reserved, so nothing of it is given back.
    settle(events, b, 0);
    expect(mb.used).toBe(bytesPerPush(a) * 10);
  });

  it('gives the reservation back push by push as they settle, to exactly zero', () => {
    const n = notification(7, 'a message of some length');
    const { budget: mb, events } = budget(1 << 30);
    mb.admit([n]);
    for (let i = 0; i < 6; i++) settle(events, n, i);
    expect(mb.used).toBe(bytesPerPush(n));
    settle(events, n, 6);
    expect(mb.used).toBe(0);
  });

  it('gives back a withdrawn request at once, and its pushes settling later change nothing', () => {
    const n = notification(3);
    const other = notification(2);
    const { budget: mb, events } = budget(1 << 30);
    const reserved = mb.admit([n]);
    mb.admit([other]);
    mb.withdraw([n], reserved);
    expect(mb.used).toBe(bytesPerPush(other) * 2);
    settle(events, n, 0);
    expect(mb.used).toBe(bytesPerPush(other) * 2);
  });

  it('counts a token by its length besides a fixed share', () => {
    expect(bytesPerPush(notification(1000))).toBeLessThan(bytesPerPush(notification(1)));
    expect(bytesPerPush(notification(1, 'x'.repeat(4000)))).toBeGreaterThan(bytesPerPush(notification(1, '')) + 7000);
  });
});
