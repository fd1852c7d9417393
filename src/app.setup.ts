import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { ApiKeyGuard } from './auth/auth.guard';
import { CORE_CONFIG, type CoreConfig } from './config/pushgate.config';
import { applyConnectionLimits } from './http/connection-limits';
import { keyRequired } from './http/key-required.middleware';
import { REQUEST_ID_HEADER, REQUEST_ID_MAX_LENGTH } from './http/request-id.middleware';
import { LogService } from './log/log.service';
import { loadSwagger, type OpenAPIObject } from './openapi/openapi.decorators';
import { OpenApiRoutes } from './openapi/openapi.routes';

/** Where the OpenAPI description is served: the UI, and the document as JSON and YAML. */
export const OPENAPI_PATHS = { ui: 'docs', json: 'docs-json', yaml: 'docs-yaml' } as const;

type SchemaObject = NonNullable<NonNullable<OpenAPIObject['components']>['schemas']>[string];
interface HeaderObject {
  description: string;
  schema: SchemaObject;
}
/** A response as this module writes them (no references). */
interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderObject>;
  content?: Record<string, { schema: SchemaObject }>;
}

/** The name of the bearer security scheme in the document. */
const BEARER = 'bearer';

const ERROR_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['message', 'request_id'],
  properties: {
    message: { type: 'string', example: 'invalid API key' },
    request_id: {
      type: 'string',
      description: "The request's id, as in its `X-Request-Id` header.",
      example: 'fSfFwgfS-r1a',
    },
    errors: { type: 'array', items: { type: 'string' }, description: '400 of `POST /push`: every problem found.' },
  },
};

const RETRY_AFTER: HeaderObject = { description: 'Seconds to wait before retrying.', schema: { type: 'integer', example: 1 } };

/** The refusals every route behind the API keys may answer, besides its own. */
const KEYED_ERRORS: Record<string, ResponseObject> = {
  '401': {
    description: 'Missing or wrong API key (only when API keys are configured).',
    headers: {
      'WWW-Authenticate': {
        description: '`Bearer realm="pushgate"`, with `error="invalid_token"` for a wrong key.',
        schema: { type: 'string' },
      },
    },
  },
  '403': { description: 'The key may not use this route or app, or an administration route without keys.' },
  '429': { description: 'Over `auth.rate_limit`, or too many wrong keys from this address.', headers: { 'Retry-After': RETRY_AFTER } },
};

/** The operation id of `METHOD /path`: `postPush`, `getPushById`, `getQueueDeadLetters`... stable while the route is. */
function operationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter((part) => part !== '')
    .flatMap((part) => (part.startsWith('{') ? ['by', part.slice(1, -1)] : part.split(/[-_]/)));
  return method + words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

/**
 * What a client generator needs beyond the decorators: operation ids that follow the routes rather than the
 * controllers' method names, the bearer scheme on every route behind the keys (the probes and Gorush's `/healthz` never need one), and every
 * refusal the gateway's middleware and guards may answer with, all with the same error body.
 */
function describeForClients(doc: OpenAPIObject): OpenAPIObject {
  doc.components = { ...doc.components, schemas: { ...doc.components?.schemas, ErrorDto: ERROR_SCHEMA } };
  const error = { 'application/json': { schema: { $ref: '#/components/schemas/ErrorDto' } } };
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = item[method];
      if (!operation) continue;
      operation.operationId = operationId(method, path);
      const responses = operation.responses as unknown as Record<string, ResponseObject>;
      const add = (status: string, response: ResponseObject): void => {
        responses[status] = { ...response, ...responses[status], headers: { ...response.headers, ...responses[status]?.headers } };
      };
      const push = method === 'post' && path === '/push';
      if (path.startsWith('/health/') || path === '/healthz') {
        operation.security = [];
      } else {
        operation.security = [{ [BEARER]: [] }];
        for (const [status, response] of Object.entries(KEYED_ERRORS)) add(status, response);
      }
      // Bodies are read (and refused over core.body_limit) for every method but GET.
      if (method !== 'get') add('413', { description: 'Body over `core.body_limit`.' });
      if (push) {
        add('503', { description: 'Queue full or shutting down; nothing was queued.', headers: { 'Retry-After': RETRY_AFTER } });
        operation.parameters = [
          ...(operation.parameters ?? []),
          {
            name: REQUEST_ID_HEADER,
            in: 'header',
            required: false,
            description: `Correlation id for this request: kept if it is made of letters, digits and \`._:+=@-\` (others are dropped, at most ${REQUEST_ID_MAX_LENGTH} kept), else generated.`,
            schema: { type: 'string', maxLength: REQUEST_ID_MAX_LENGTH },
          },
        ];
      }
      for (const [status, response] of Object.entries(responses)) {
        response.headers = { ...response.headers, [REQUEST_ID_HEADER]: { description: "The request's id.", schema: { type: 'string' } } };
        // The gateway answers every refusal with the same body, its request id included; Gorush's and the readiness
        // probe's keep their own shapes.
        const plain = /#\/components\/schemas\/(MessageDto|ValidationErrorDto)"/.test(JSON.stringify(response.content ?? {}));
        if (/^[45]/.test(status) && (push || !response.content || plain) && !(path === '/health/ready')) response.content = error;
      }
    }
  }
  return doc;
}

/** The OpenAPI 3 document of every route of the application, generated from its controllers and DTOs. */
export async function openApiDocument(app: INestApplication): Promise<OpenAPIObject> {
  const { DocumentBuilder, SwaggerModule } = await loadSwagger();
  const info = new DocumentBuilder()
    .setTitle('pushgate')
    .setDescription("Push notification gateway for APNs and FCM HTTP v1, compatible with Gaurun's API.")
    .setVersion((JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version)
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'One of the keys of `auth.api_keys` / `auth.api_keys_path`, when any is configured.' },
      BEARER,
    )
    .build();
  return describeForClients(SwaggerModule.createDocument(app, info));
}

/** `/docs`, `/docs-json`, `/docs-yaml` and the paths below them, matched as Express matches (case-insensitively). */
function isOpenApiPath(path: string): boolean {
  const lower = path.toLowerCase();
  return Object.values(OPENAPI_PATHS).some((p) => lower === `/${p}` || lower.startsWith(`/${p}/`));
}

/** Swagger's UI and document routes on a router of their own, with the document built from the application. */
async function openApiRouter(app: INestApplication): Promise<Router> {
  const document = await openApiDocument(app);
  const { SwaggerModule } = await loadSwagger();
  const router = Router();
  const adapter = new ExpressAdapter(router);
  // What SwaggerModule.setup uses of an application: its HTTP adapter, and static files served through it.
  const mount = {
    getHttpAdapter: () => adapter,
    useStaticAssets: (path: string, options: { prefix: string }): void => {
      adapter.useStaticAssets(path, options);
    },
  };
  SwaggerModule.setup(OPENAPI_PATHS.ui, mount as unknown as INestApplication, document, {
    jsonDocumentUrl: OPENAPI_PATHS.json,
    yamlDocumentUrl: OPENAPI_PATHS.yaml,
    customSiteTitle: 'pushgate API',
  });
  return router;
}

/** What main and the end-to-end tests both apply to a created application. */
export function setupApp(app: INestApplication): INestApplication {
  app.useLogger(app.get(LogService));
  const express = app as NestExpressApplication;
  express.disable('x-powered-by');
  express.set('etag', false);
  applyConnectionLimits(app.getHttpServer() as Server, app.get<CoreConfig>(CORE_CONFIG));
  // The description's routes are Express's own, outside Nest's guards: they get the key check here (and a request id
  // and an access-log line from Nest's middleware, which every request passes). Swagger is loaded, and the document
  // built, on the first request for them, not at start.
  const checkKey = keyRequired(app.get(ApiKeyGuard), '/docs');
  let router: Promise<Router> | undefined;
  app.get(OpenApiRoutes).serve((req: Request, res: Response, next: NextFunction): void => {
    if (!isOpenApiPath(req.path)) return next();
    checkKey(req, res, (error?: unknown) => {
      if (error !== undefined) return next(error);
      router ??= openApiRouter(app);
      router.then(
        (handle) => handle(req, res, next),
        (failure: unknown) => {
          router = undefined;
          next(failure);
        },
      );
    });
  });
  return app;
}

/** Options for `NestFactory.create` / `createNestApplication`: bodies are read by JsonBodyMiddleware. */
export const APP_OPTIONS = { bodyParser: false, bufferLogs: true, abortOnError: false } as const;
