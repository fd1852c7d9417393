import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { LogService } from './log/log.service';

/** What main and the end-to-end tests both apply to a created application. */
export function setupApp(app: INestApplication): INestApplication {
  app.useLogger(app.get(LogService));
  const express = app as NestExpressApplication;
  express.disable('x-powered-by');
  express.set('etag', false);
  return app;
}

/** Options for `NestFactory.create` / `createNestApplication`: bodies are read by JsonBodyMiddleware. */
export const APP_OPTIONS = { bodyParser: false, bufferLogs: true, abortOnError: false } as const;
