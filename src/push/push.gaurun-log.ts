import { gaurunTime } from '../log/log.service';
import { platformName, type NotificationDto } from '../notification/notification.dto';
import { LOGGED_FIELDS } from './push.log';

/**
 * One push line in Gaurun's shape (`LogPush` of mercari/gaurun, zap's JSON encoder), newline included: `level`,
 * `time`, `message` (the push's message text), `id`, `platform`, `token`, `type`, `ptime` (seconds, three decimals
 * cut), `error` (empty on success), then the notification's non-empty fields.
 */
export function gaurunPushLine(
  level: 'info' | 'error',
  n: NotificationDto,
  id: number,
  token: string,
  type: string,
  ptime: number,
  error: string,
): string {
  const line: Record<string, unknown> = {
    level,
    time: gaurunTime(),
    message: n.message,
    id,
    platform: platformName(n.platform),
    token,
    type,
    ptime: Math.floor(ptime * 1000) / 1000,
    error,
  };
  for (const field of LOGGED_FIELDS) {
    if (field === 'message') continue;
    const value = n[field];
    if (value !== undefined && value !== '' && value !== false && !(Array.isArray(value) && value.length === 0)) {
      line[field] = value;
    }
  }
  return `${JSON.stringify(line)}\n`;
}

/** The request line of Gaurun's `LogAcceptedRequest`, newline included. */
export function gaurunRequestLine(request: { uri: string; method: string; proto: string; contentLength: number }): string {
  return `${JSON.stringify({
    level: 'info',
    time: gaurunTime(),
    message: '',
    type: 'accepted-request',
    uri: request.uri,
    method: request.method,
    proto: request.proto,
    content_length: request.contentLength,
  })}\n`;
}
