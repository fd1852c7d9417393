import { errorCode } from './fcm.client';
import type { FailureReason } from '../provider/push.provider';
import { fcmDeadTokenReason } from './fcm.dead-token';

const failed = (reason: string, detail?: string): FailureReason => ({ reason, detail });

/** An FCM v1 error body as Google sends it. */
function fcmBody(
  status: number,
  googleStatus: string,
  message: string,
  errorCode?: string,
  fieldViolations?: { field: string; description: string }[],
): string {
  const details: Record<string, unknown>[] = [];
  if (errorCode) details.push({ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode });
  if (fieldViolations) details.push({ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations });
  return JSON.stringify({ error: { code: status, message, status: googleStatus, details } });
}

async function fcmOutcome(status: number, body: string): Promise<FailureReason> {
  const { reason, detail } = await errorCode(status, Promise.resolve(body));
  return failed(reason, detail);
}

describe('fcmDeadTokenReason', () => {
  it('reports FCM UNREGISTERED and SENDER_ID_MISMATCH; never auth, quota, server or transport errors', async () => {
    expect(fcmDeadTokenReason(await fcmOutcome(404, fcmBody(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED')))).toBe(
      'UNREGISTERED',
    );
    expect(fcmDeadTokenReason(await fcmOutcome(403, fcmBody(403, 'PERMISSION_DENIED', 'SenderId mismatch', 'SENDER_ID_MISMATCH')))).toBe(
      'SENDER_ID_MISMATCH',
    );
    const notDead = [
      fcmBody(401, 'UNAUTHENTICATED', 'Auth error from APNS or Web Push Service', 'THIRD_PARTY_AUTH_ERROR'),
      fcmBody(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.'),
      fcmBody(403, 'PERMISSION_DENIED', "Permission 'cloudmessaging.messages.create' denied on resource"),
      fcmBody(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for the messages sent to this device.', 'QUOTA_EXCEEDED'),
      fcmBody(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE'),
      'not json',
    ];
    for (const body of notDead) expect(fcmDeadTokenReason(await fcmOutcome(400, body))).toBeUndefined();
    expect(fcmDeadTokenReason(failed('Timeout'))).toBeUndefined();
    expect(fcmDeadTokenReason(failed('Unregistered'))).toBeUndefined();
  });

  it('INVALID_ARGUMENT condemns the token only when FCM says the registration token is invalid', async () => {
    const badToken = fcmBody(400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token', 'INVALID_ARGUMENT');
    expect(fcmDeadTokenReason(await fcmOutcome(400, badToken))).toBe('INVALID_ARGUMENT');
    const tokenField = fcmBody(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', 'INVALID_ARGUMENT', [
      { field: 'message.token', description: 'Invalid registration token' },
    ]);
    expect(fcmDeadTokenReason(await fcmOutcome(400, tokenField))).toBe('INVALID_ARGUMENT');

    const payloadErrors = [
      fcmBody(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', 'INVALID_ARGUMENT'),
      fcmBody(400, 'INVALID_ARGUMENT', 'Message is too big', 'INVALID_ARGUMENT'),
      fcmBody(
        400,
        'INVALID_ARGUMENT',
        'Invalid JSON payload received. Unknown name "colour" at \'message\': Cannot find field.',
        'INVALID_ARGUMENT',
      ),
      fcmBody(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', 'INVALID_ARGUMENT', [
        { field: 'message.data[0].key', description: 'Invalid data key: from' },
      ]),
      fcmBody(
        400,
        'INVALID_ARGUMENT',
        "Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration)",
        'INVALID_ARGUMENT',
      ),
    ];
    for (const body of payloadErrors) expect(fcmDeadTokenReason(await fcmOutcome(400, body))).toBeUndefined();
    expect(fcmDeadTokenReason(failed('INVALID_ARGUMENT'))).toBeUndefined();
  });
});
