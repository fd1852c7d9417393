import { problems } from '../../test/support/config';
import { loadConfig } from './config.loader';

const level = (value: string): string => loadConfig({ env: { PUSHGATE_LOG_LEVEL: value } }).log.level;

describe('log.level', () => {
  it("accepts zap's level names (Gaurun's) in any case, as pino's nearest level", () => {
    expect(level('debug')).toBe('debug');
    expect(level('INFO')).toBe('info');
    expect(level('Warn')).toBe('warn');
    expect(level('eRRor')).toBe('error');
    expect(level('dpanic')).toBe('fatal');
    expect(level('PANIC')).toBe('fatal');
    expect(level('Fatal')).toBe('fatal');
    expect(level('trace')).toBe('trace');
  });

  it('reads an empty level as info, as zap does', () => {
    expect(level('')).toBe('info');
  });

  it('names the accepted levels for anything else', () => {
    for (const bad of ['loud', 'warning', 'constructor']) {
      expect(problems(() => level(bad))).toEqual([
        `log.level: "${bad}" is not one of trace, debug, info, warn, error, dpanic, panic, fatal`,
      ]);
    }
  });
});
