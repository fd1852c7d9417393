import type { InvalidTokenDto } from './feedback.dto';
import { InvalidTokenHistory } from './feedback.history';

const dead = (token: string): InvalidTokenDto => ({ token, platform: 'ios', app: 'default', reason: 'Unregistered', timestamp: '' });

describe('invalid-token history', () => {
  it('keeps the newest entries, oldest first, within its capacity', () => {
    const history = new InvalidTokenHistory(3);
    expect(history.list()).toEqual([]);
    for (const [i, token] of ['a', 'b', 'c', 'd', 'e'].entries()) history.add(dead(token), 1000 + i);
    expect(history.list().map((t) => t.token)).toEqual(['c', 'd', 'e']);
  });

  it('filters by time (inclusive) and limits from the oldest', () => {
    const history = new InvalidTokenHistory(10);
    for (const [i, token] of ['a', 'b', 'c', 'd'].entries()) history.add(dead(token), 1000 + i);
    expect(history.list(1002).map((t) => t.token)).toEqual(['c', 'd']);
    expect(history.list(0, 2).map((t) => t.token)).toEqual(['a', 'b']);
    expect(history.list(5000)).toEqual([]);
  });

  it('keeps nothing with capacity 0', () => {
    const history = new InvalidTokenHistory(0);
    history.add(dead('a'), 1);
    expect(history.list()).toEqual([]);
  });
});
