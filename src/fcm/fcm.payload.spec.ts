import type { NotificationDto } from '../notification/notification.dto';
import { fcmDataBytes, fcmDataProblems, isReservedFcmDataKey, toFcmData } from './fcm.payload';

const dto = (fields: Partial<NotificationDto>): NotificationDto => ({ token: ['t'], platform: 2, message: 'hi', ...fields });

describe('FCM data rules', () => {
  it('reserves from, message_type and keys starting with google or gcm', () => {
    for (const key of ['from', 'message_type', 'google', 'google.c.a.e', 'googleish', 'gcm', 'gcm.n.e'])
      expect(isReservedFcmDataKey(key)).toBe(true);
    for (const key of ['From', 'message', 'my_google', 'type', 'gc']) expect(isReservedFcmDataKey(key)).toBe(false);
  });

  it('names each reserved extend key', () => {
    const extend = [
      { key: 'ok', val: 'v' },
      { key: 'from', val: 'v' },
      { key: 'gcm.notification.title', val: 'v' },
    ];
    expect(fcmDataProblems(dto({ extend }), 'notifications[0]')).toEqual([
      'notifications[0].extend[1].key: "from" is reserved by FCM (from, message_type, google*, gcm*)',
      'notifications[0].extend[2].key: "gcm.notification.title" is reserved by FCM (from, message_type, google*, gcm*)',
    ]);
  });

  it('measures data as compact JSON: 4,096 bytes pass, 4,097 do not', () => {
    const overhead = fcmDataBytes({ message: 'hi', k: '' });
    // Two-byte characters: the limit is in UTF-8 bytes, not characters.
    const sized = (bytes: number): NotificationDto =>
      dto({ extend: [{ key: 'k', val: 'é'.repeat(Math.floor((bytes - overhead) / 2)) + 'x'.repeat((bytes - overhead) % 2) }] });
    expect(fcmDataBytes(toFcmData(sized(4096)))).toBe(4096);
    expect(fcmDataProblems(sized(4096), '')).toEqual([]);
    const over = dto({ extend: [{ key: 'k', val: 'x'.repeat(4097 - overhead) }] });
    expect(fcmDataProblems(over, '')).toEqual(['FCM data is 4097 bytes, over the 4096-byte limit']);
  });
});
