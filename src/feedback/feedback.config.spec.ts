import { ConfigError, loadConfig } from '../config/pushgate.config';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('[feedback] configuration', () => {
  it('documents every key in the shipped file and loads it with the defaults', () => {
    const config = loadConfig({ path: 'config/pushgate.toml' });
    expect(config.unknown_keys).toEqual([]);
    expect(config.feedback).toEqual({
      webhook_url: '',
      webhook_secret: '',
      batch_size: 100,
      flush_interval: 1,
      buffer_size: 10_000,
      history_size: 1000,
      timeout: 10,
    });
  });

  it('takes every key from the environment', () => {
    const config = loadConfig({
      env: {
        PUSHGATE_FEEDBACK_WEBHOOK_URL: 'https://backend.example/tokens',
        PUSHGATE_FEEDBACK_WEBHOOK_SECRET: 's3cret',
        PUSHGATE_FEEDBACK_BATCH_SIZE: '500',
        PUSHGATE_FEEDBACK_HISTORY_SIZE: '0',
      },
    });
    expect(config.feedback).toEqual(expect.objectContaining({ webhook_url: 'https://backend.example/tokens', batch_size: 500, history_size: 0 }));
  });

  it('refuses a webhook without a secret, a URL that is not http(s), and sizes out of range', () => {
    expect(problems({ PUSHGATE_FEEDBACK_WEBHOOK_URL: 'https://backend.example/tokens' })).toEqual([expect.stringMatching(/^feedback\.webhook_secret: required/)]);
    expect(problems({ PUSHGATE_FEEDBACK_WEBHOOK_URL: 'ftp://backend.example/', PUSHGATE_FEEDBACK_WEBHOOK_SECRET: 's' })).toEqual([
      expect.stringMatching(/^feedback\.webhook_url: expected an http/),
    ]);
    expect(problems({ PUSHGATE_FEEDBACK_BATCH_SIZE: '0', PUSHGATE_FEEDBACK_BUFFER_SIZE: '0', PUSHGATE_FEEDBACK_TIMEOUT: '0' })).toHaveLength(3);
  });
});
