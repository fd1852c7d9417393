import type { ServerResponse } from 'node:http';

/**
 * Answers `body` as JSON with the status and headers Express's `res.json` gives it (`Content-Type: application/json;
 * charset=utf-8` and `Content-Length`; the application has no JSON replacer, spacing or ETag), without what
 * `res.json` does again for every answer: reading those settings, then parsing and formatting the Content-Type twice.
 * For `POST /push`, answered once per request.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.end(json);
}
