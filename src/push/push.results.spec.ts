import { Test } from '@nestjs/testing';
import { PLATFORM_IOS } from '../notification/notification.dto';
import { PushEvents } from './push.events';
import type { Push, QueuedNotification } from './push.queue';
import { PUSH_RESULTS_LIMITS, PushResults, type PushResultsLimits } from './push.results';

/** PushResults as the push module wires it: with the application's PushEvents and the limits given. */
async function compile(limits: PushResultsLimits): Promise<{ results: PushResults; events: PushEvents }> {
  const moduleRef = await Test.createTestingModule({
    providers: [PushEvents, PushResults, { provide: PUSH_RESULTS_LIMITS, useValue: limits }],
  }).compile();
  return { results: moduleRef.get(PushResults), events: moduleRef.get(PushEvents) };
}

function settle(events: PushEvents, requestId: string, index: number, reason?: string): void {
  const notification: QueuedNotification = {
    dto: { token: ['t0', 't1', 't2'], platform: PLATFORM_IOS, message: 'm' },
    platform: PLATFORM_IOS,
    app: 'default',
    idPrefix: `${requestId}-n-`,
    acceptedAt: 0,
    requestId,
  };
  const push: Push = { notification, index, attempt: 0 };
  events.emitSettled({
    push,
    id: `${requestId}-n-${index}`,
    platform: PLATFORM_IOS,
    token: notification.dto.token[index],
    outcome: reason ? { ok: false, reason } : { ok: true },
    ptime: 0,
  });
}

describe('PushResults', () => {
  it('forgets a request once its time to live has passed', async () => {
    const { results } = await compile({ ttlMs: 1000, maxRequests: 10 });
    results.track('a', 2, 10_000);
    expect(results.status('a', 10_999)).toEqual(expect.objectContaining({ queued: 2, pending: 2 }));
    expect(results.status('a', 11_000)).toBeUndefined();
    expect(results.size).toBe(0);
  });

  it('keeps at most maxRequests, forgetting the oldest first', async () => {
    const { results } = await compile({ ttlMs: 60_000, maxRequests: 2 });
    for (const id of ['a', 'b', 'c']) results.track(id, 1, 0);
    expect(results.size).toBe(2);
    expect(results.status('a', 0)).toBeUndefined();
    expect(results.status('c', 0)).toEqual(expect.objectContaining({ request_id: 'c' }));
  });

  it('counts outcomes of tracked requests only, failures by reason', async () => {
    const { results, events } = await compile({ ttlMs: 60_000, maxRequests: 10 });
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
