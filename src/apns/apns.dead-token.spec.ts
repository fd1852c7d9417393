import { apnsDeadTokenReason } from './apns.dead-token';

describe('apnsDeadTokenReason', () => {
  it('reports the APNs token errors and nothing else from APNs', () => {
    for (const reason of ['Unregistered', 'BadDeviceToken', 'DeviceTokenNotForTopic', 'ExpiredToken']) {
      expect(apnsDeadTokenReason({ reason })).toBe(reason);
    }
    for (const reason of [
      'PayloadTooLarge',
      'BadTopic',
      'InvalidProviderToken',
      'ExpiredProviderToken',
      'BadCertificate',
      'MissingTopic',
      'TopicDisallowed',
      'TooManyRequests',
      'InternalServerError',
      'Timeout',
      'Shutdown',
      'ClientError',
      'UNREGISTERED',
      'HTTP410',
    ]) {
      expect(apnsDeadTokenReason({ reason })).toBeUndefined();
    }
  });
});
