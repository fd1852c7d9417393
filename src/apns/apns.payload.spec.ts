import { Notification } from 'apns2';
import type { NotificationDto } from '../notification/notification.dto';
import { apnsExtendProblems, isBackgroundPush, toApnsOptions } from './apns.payload';

const dto = (fields: Partial<NotificationDto>): NotificationDto => ({ token: ['t'], platform: 1, message: 'hi', ...fields });
const payload = (fields: Partial<NotificationDto>): unknown => new Notification('t', toApnsOptions(dto(fields), 0)).buildApnsOptions();

describe('APNs payload rules', () => {
  it('leaves empty title, subtitle and body out of the alert', () => {
    expect(payload({ title: 'T', message: '' })).toEqual({ aps: { alert: { title: 'T' } } });
    expect(payload({ title: '', subtitle: 'S' })).toEqual({ aps: { alert: { subtitle: 'S', body: 'hi' } } });
    expect(payload({ title: 'T', subtitle: 'S' })).toEqual({ aps: { alert: { title: 'T', subtitle: 'S', body: 'hi' } } });
  });

  it('a background push carries content-available and no alert, sound or badge, at priority 5', () => {
    const options = toApnsOptions(dto({ push_type: 'background', title: 'T', badge: 1, sound: 'default', category: 'c' }), 0);
    expect(options).toMatchObject({ type: 'background', priority: 5 });
    expect(new Notification('t', options).buildApnsOptions()).toEqual({ aps: { 'content-available': 1, category: 'c' } });
  });

  it('a content-only push is a background push; content-available beside an alert, sound or badge is not', () => {
    expect(isBackgroundPush(dto({ message: '', content_available: true }))).toBe(true);
    expect(isBackgroundPush(dto({ message: '', content_available: true, push_type: 'alert' }))).toBe(true);
    expect(isBackgroundPush(dto({ content_available: true }))).toBe(false);
    expect(isBackgroundPush(dto({ message: '', content_available: true, badge: 0 }))).toBe(false);
    expect(isBackgroundPush(dto({ message: '', content_available: true, sound: 'default' }))).toBe(false);
    expect(isBackgroundPush(dto({ message: '', title: 'T', content_available: true }))).toBe(false);
    expect(toApnsOptions(dto({ content_available: true }), 0)).toMatchObject({ type: 'alert', priority: 10 });
  });

  it('refuses an extend key "aps", naming the pair', () => {
    const extend = [
      { key: 'k', val: 'v' },
      { key: 'aps', val: 'x' },
    ];
    expect(apnsExtendProblems(dto({ extend }), 'notifications[2]')).toEqual([
      `notifications[2].extend[1].key: "aps" is Apple's own dictionary in the APNs payload`,
    ]);
    expect(apnsExtendProblems(dto({ extend }), '')).toEqual([`extend[1].key: "aps" is Apple's own dictionary in the APNs payload`]);
    expect(apnsExtendProblems(dto({ extend: [{ key: 'Aps', val: 'x' }] }), '')).toEqual([]);
  });
});
