import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { IsNotEmpty, IsString, MaxLength, validateSync } from 'class-validator';
import { NotificationDto } from '../notification/notification.dto';

/** The three validators the token list's one-pass check stands for. */
class Reference {
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(4096, { each: true })
  readonly token!: unknown;
}

function tokenMessages(token: unknown): string[] {
  const errors = validateSync(plainToInstance(NotificationDto, { token, platform: 1, message: 'm' }));
  return errors.filter((e) => e.property === 'token').flatMap((e) => Object.values(e.constraints ?? {}));
}

function referenceMessages(token: unknown): string[] {
  return validateSync(plainToInstance(Reference, { token })).flatMap((e) => Object.values(e.constraints ?? {}));
}

describe('NotificationDto.token', () => {
  it('accepts non-empty strings up to 4,096 characters, counted as class-validator counts them', () => {
    expect(tokenMessages(['6f2c1e0a9b1d', 'x'.repeat(4096)])).toEqual([]);
    // 2,100 characters in 4,200 UTF-16 units: within the limit, as @MaxLength says.
    const wide = '😀'.repeat(2100);
    expect(referenceMessages([wide])).toEqual([]);
    expect(tokenMessages([wide])).toEqual([]);
  });

  it.each([
    ['a number', ['ok', 5]],
    ['an object', [{ token: 'x' }]],
    ['an empty string', ['ok', '']],
    ['a string over the limit', ['ok', 'x'.repeat(4097)]],
    ['characters over the limit', ['😀'.repeat(4097)]],
  ])('refuses %s with the message of the matching class-validator decorator', (_case, token) => {
    const messages = tokenMessages(token);
    expect(messages).toHaveLength(1);
    expect(referenceMessages(token)).toContain(messages[0]);
  });

  it('names the first problem by the order string, non-empty, length', () => {
    expect(tokenMessages(['', 7, 'x'.repeat(5000)])).toEqual(['each value in token must be a string']);
    expect(tokenMessages(['x'.repeat(5000), ''])).toEqual(['each value in token should not be empty']);
  });

  it('leaves a token list that is not an array to @IsArray', () => {
    const messages = tokenMessages('6f2c1e0a9b1d');
    expect(messages).toContain('token must be an array');
    expect(messages.filter((m) => m.startsWith('each value'))).toEqual([]);
  });
});
