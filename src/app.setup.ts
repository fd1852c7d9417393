import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { ApiKeyGuard } from './auth/auth.guard';
import { keyRequired } from './auth/auth.middleware';
import { CORE_CONFIG, type CoreConfig } from './config/pushgate.config';
import { applyConnectionLimits } from './http/connection-limits';
import { LogService } from './log/log.service';

/** Where the OpenAPI description is served: the UI, and the document as JSON and YAML. */
export const OPENAPI_PATHS = { ui: 'docs', json: 'docs-json', yaml: 'docs-yaml' } as const;

/** The OpenAPI 3 document of every route of the application, generated from its controllers and DTOs. */
export function openApiDocument(app: INestApplication): OpenAPIObject {
  const info = new DocumentBuilder()
    .setTitle('pushgate')
    .setDescription("Push notification gateway for APNs and FCM HTTP v1, compatible with Gaurun's API.")
    .setVersion((JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version)
    .build();
  return SwaggerModule.createDocument(app, info);
}

/** What main and the end-to-end tests both apply to a created application. */
export function setupApp(app: INestApplication): INestApplication {
  app.useLogger(app.get(LogService));
  const express = app as NestExpressApplication;
  express.disable('x-powered-by');
  express.set('etag', false);
  applyConnectionLimits(app.getHttpServer() as Server, app.get<CoreConfig>(CORE_CONFIG));
  // Swagger's routes are Express's own, outside Nest's guards.
  express.use(Object.values(OPENAPI_PATHS).map((path) => `/${path}`), keyRequired(app.get(ApiKeyGuard), '/docs'));
  // Built on the first request for it, not at start.
  SwaggerModule.setup(OPENAPI_PATHS.ui, app, () => openApiDocument(app), {
    jsonDocumentUrl: OPENAPI_PATHS.json,
    yamlDocumentUrl: OPENAPI_PATHS.yaml,
    customSiteTitle: 'pushgate API',
  });
  return app;
}

/** Options for `NestFactory.create` / `createNestApplication`: bodies are read by JsonBodyMiddleware. */
export const APP_OPTIONS = { bodyParser: false, bufferLogs: true, abortOnError: false } as const;
