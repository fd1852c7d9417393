import { PushEvents } from './push.events';
import type { Push, QueuedNotification } from './push.queue';
import { PushResults } from './push.results';

function settle(events: PushEvents, requestId: string, index: number, reason?: string): void {
  const notification = { requestId, idPrefix: `${requestId}-n-`, platform: 1, dto: { token: [] } } as unknown as QueuedNotification;
  const push: Push = { notification, index, attempt: 0 };
  events.emitSettled({
    push,
    id: `${requestId}-n-${index}`,
    platform: 1,
    token: 't',
    outcome: reason ? { ok: false, reason } : { ok: true },
    ptime: 0,
  });
}

describe('PushResults', () => {
  it('forgets a request once its time to live has passed', () => {
    const results = new PushResults(new PushEvents(), { ttlMs: 1000, maxRequests: 10 });
    results.track('a', 2, 10_000);
    expect(results.status('a', 10_999)).toEqual(expect.objectContaining({ queued: 2, pending: 2 }));
    expect(results.status('a', 11_000)).toBeUndefined();
    expect(results.size).toBe(0);
  });

  it('keeps at most maxRequests, forgetting the oldest first', () => {
    const results = new PushResults(new PushEvents(), { ttlMs: 60_000, maxRequests: 2 });
    for (const id of ['a', 'b', 'c']) results.track(id, 1, 0);
    expect(results.size).toBe(2);
    expect(results.status('a', 0)).toBeUndefined();
    expect(results.status('c', 0)).toEqual(expect.objectContaining({ request_id: 'c' }));
  });

  it('counts outcomes of tracked requests only, failures by reason', () => {
    const events = new PushEvents();
    const results = new PushResults(events, { ttlMs: 60_000, maxRequests: 10 });
    results.track('a', 3, 0);
    settle(events, 'a', 0);
    settle(events, 'a', 1, 'Unregistered');
    settle(events, 'gone', 0, 'Unregistered');
    expect(results.status('a', 0)).toEqual({
      request_id: 'a',
      accepted_at: new Date(0).toISOString(),
      queued: 3,
      succeeded: 1,
      failed: { Unregistered: 1 },
      pending: 1,
      done: false,
    });
  });
});
