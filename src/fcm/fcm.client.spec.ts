import { errorCode, toResult } from './fcm.client';

const FCM_ERROR = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';

/** A Google API error body as FCM HTTP v1 answers it. */
function body(code: number, status: string | undefined, message: string, fcmCode?: string): Promise<string> {
  const details = fcmCode === undefined ? [] : [{ '@type': FCM_ERROR, errorCode: fcmCode }];
  return Promise.resolve(JSON.stringify({ error: { code, status, message, details } }));
}

describe('FCM error mapping', () => {
  it.each([
    // [status, Google status, FCM error code, reason, retryable]
    [404, 'NOT_FOUND', 'UNREGISTERED', 'UNREGISTERED', false],
    [400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', false],
    [403, 'PERMISSION_DENIED', 'SENDER_ID_MISMATCH', 'SENDER_ID_MISMATCH', false],
    [401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR', 'THIRD_PARTY_AUTH_ERROR', false],
    [401, 'UNAUTHENTICATED', undefined, 'UNAUTHENTICATED', true],
    [429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED', 'QUOTA_EXCEEDED', true],
    [429, 'RESOURCE_EXHAUSTED', undefined, 'RESOURCE_EXHAUSTED', true],
    [503, 'UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE', true],
    [500, 'INTERNAL', 'INTERNAL', 'INTERNAL', true],
    [502, undefined, undefined, 'HTTP502', true],
    [400, undefined, undefined, 'HTTP400', false],
  ] as const)('%i %s %s: reason %s, retryable %s', async (status, googleStatus, fcmCode, reason, retryable) => {
    expect(await toResult(status, undefined, body(status, googleStatus, 'the message', fcmCode))).toEqual({
      ok: false,
      reason,
      retryable,
      retryAfterMs: undefined,
      detail: 'the message',
    });
  });

  it('carries the Retry-After wait, in seconds or as an HTTP date', async () => {
    const quota = await toResult(429, '7', body(429, 'RESOURCE_EXHAUSTED', 'slow down', 'QUOTA_EXCEEDED'));
    expect(quota).toEqual({ ok: false, reason: 'QUOTA_EXCEEDED', retryable: true, retryAfterMs: 7000, detail: 'slow down' });
    const date = new Date(Date.now() + 60_000).toUTCString();
    const unavailable = await toResult(503, date, body(503, 'UNAVAILABLE', 'later', 'UNAVAILABLE'));
    expect(unavailable.ok === false && unavailable.retryAfterMs).toBeGreaterThan(58_000);
    expect(unavailable.ok === false && unavailable.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('a body that is not JSON is HTTP<status> without a detail', async () => {
    expect(await toResult(502, undefined, Promise.resolve('<html>Bad Gateway</html>'))).toEqual({
      ok: false,
      reason: 'HTTP502',
      retryable: true,
      retryAfterMs: undefined,
      detail: undefined,
    });
    expect(await errorCode(404, Promise.resolve(''))).toEqual({ reason: 'HTTP404' });
  });

  it("names FCM's field violations in the detail, cut at 500 characters", async () => {
    const violations = JSON.stringify({
      error: {
        status: 'INVALID_ARGUMENT',
        message: 'Invalid value',
        details: [
          { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'message.token', description: 'bad' }] },
        ],
      },
    });
    expect(await errorCode(400, Promise.resolve(violations))).toEqual({
      reason: 'INVALID_ARGUMENT',
      detail: 'Invalid value; message.token: bad',
    });
    const long = await errorCode(400, body(400, 'INVALID_ARGUMENT', 'x'.repeat(600)));
    expect(long.detail).toHaveLength(500);
  });
});
