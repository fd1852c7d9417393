import { jsonDepthExceeds } from '../http/json-body.middleware';
import { bearerToken } from './auth.guard';
import { parseKeyFile } from './auth.keys';

describe('bearerToken', () => {
  it('takes the credential of a Bearer header in any case, and nothing else', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('parseKeyFile', () => {
  it('skips blank lines and comments and trims keys', () => {
    expect(parseKeyFile('# old\n key-1 \r\n\nkey-2\n')).toEqual(['key-1', 'key-2']);
  });
});

describe('jsonDepthExceeds', () => {
  it('counts nesting of arrays and objects outside strings', () => {
    expect(jsonDepthExceeds(Buffer.from('[[[]]]'), 3)).toBe(false);
    expect(jsonDepthExceeds(Buffer.from('[[[[]]]]'), 3)).toBe(true);
    expect(jsonDepthExceeds(Buffer.from('{"a":{"b":[1]}}'), 3)).toBe(false);
    expect(jsonDepthExceeds(Buffer.from('["[[[[", "\\"[[[["]'), 1)).toBe(false);
  });
});
