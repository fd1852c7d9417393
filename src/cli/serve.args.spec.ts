import { loadConfig } from '../config/pushgate.config';
import { UsageError } from './notification';
import { flagEnvironment, parseServeArgs } from './serve.args';

describe('parseServeArgs', () => {
  it("reads Gaurun's flags, short and long", () => {
    expect(parseServeArgs(['-c', 'g.toml', '-p', '8080', '-w', '4', '-q', '100'])).toEqual({
      config: 'g.toml',
      overrides: { port: '8080', workers: '4', queues: '100' },
      version: false,
      help: false,
    });
    expect(parseServeArgs(['--config', 'g.toml', '--port=unix:/run/g.sock', '--version'])).toEqual({
      config: 'g.toml',
      overrides: { port: 'unix:/run/g.sock' },
      version: true,
      help: false,
    });
  });

  it('takes a bare socket path for -p, and 0 for -w or -q as "keep the configured value", as Gaurun does', () => {
    expect(parseServeArgs(['-p', '/run/g.sock', '-w', '0', '-q', '0']).overrides).toEqual({ port: 'unix:/run/g.sock' });
  });

  it('refuses unknown flags, stray arguments and counts that are not whole numbers', () => {
    for (const args of [['--bogus'], ['-x'], ['g.toml'], ['-w', 'four'], ['-q', '1.5'], ['-w', '-1'], ['-c']]) {
      expect(() => parseServeArgs(args)).toThrow(UsageError);
    }
  });

  it('overrides the file and the environment through the keys the configuration reads', () => {
    const env = flagEnvironment(parseServeArgs(['-p', '9000', '-w', '3', '-q', '50']));
    expect(env).toEqual({ PUSHGATE_CORE_PORT: '9000', PUSHGATE_CORE_WORKERS: '3', PUSHGATE_CORE_QUEUES: '50' });
    const { core } = loadConfig({ env: { PUSHGATE_CORE_PORT: '1056', PUSHGATE_CORE_WORKERS: '8', ...env } });
    expect(core).toEqual(expect.objectContaining({ port: '9000', workers: 3, queues: 50 }));
  });
});
