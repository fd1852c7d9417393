import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPIV3 } from 'openapi-types';
import { Simulator } from '../src/simulator/simulator';
import { haveRedisServer, RedisServer } from './redis/support';
import { startGateway, type Gateway, simulatedGatewayForSuite } from './support/gateway';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}

/** Every `METHOD /path` that the Express application routes, read from its router, in OpenAPI's path syntax. */
function expressRoutes(gw: Gateway): string[] {
  const express = gw.app.getHttpAdapter().getInstance() as { router: { stack: Layer[] } };
  const routes: string[] = [];
  for (const layer of express.router.stack) {
    if (!layer.route) continue;
    for (const path of [layer.route.path].flat()) {
      for (const [method, on] of Object.entries(layer.route.methods)) {
        if (on && method !== '_all') routes.push(`${method.toUpperCase()} ${path.replace(/:(\w+)/g, '{$1}')}`);
      }
    }
  }
  return routes;
}

/** Fields that are fractions by nature and so rightly typed `number`; every other number in the API is whole. */
const FRACTIONAL = ['CriticalSoundDto.volume', 'GorushSoundDto.volume'];

/** `Schema.property` (or the JSON path, outside components) of every schema typed `number`, with its format. */
function numberTyped(doc: OpenAPIV3.Document): { at: string; format?: string }[] {
  const found: { at: string; format?: string }[] = [];
  const visit = (node: unknown, at: string[]): void => {
    if (Array.isArray(node)) return node.forEach((item, i) => visit(item, [...at, String(i)]));
    if (node === null || typeof node !== 'object') return;
    const schema = node as Record<string, unknown>;
    if (schema.type === 'number') {
      const named = at[0] === 'components' && at[1] === 'schemas' && at[3] === 'properties' && at.length === 5;
      found.push({ at: named ? `${at[2]}.${at[4]}` : at.join('/'), format: schema.format as string | undefined });
    }
    for (const [key, value] of Object.entries(schema)) visit(value, [...at, key]);
  };
  visit(doc, []);
  return found;
}

describe('OpenAPI description', () => {
  let gw: Gateway;
  simulatedGatewayForSuite((started) => ({ gw } = started));

  it('is served at /docs-json and validates as OpenAPI 3', async () => {
    const res = await gw.http.get('/docs-json').expect(200).expect('content-type', /json/);
    const doc = res.body as OpenAPIV3.Document;
    expect(doc.openapi).toMatch(/^3\./);
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it('lists every route the application serves, and nothing it does not', async () => {
    const doc = (await gw.http.get('/docs-json').expect(200)).body as OpenAPIV3.Document;
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      METHODS.filter((m) => item?.[m] !== undefined).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const served = expressRoutes(gw).filter((r) => !/ \/docs/.test(r));
    expect(served).toEqual(
      expect.arrayContaining(['POST /push', 'GET /push/{id}', 'PUT /config/pushers', 'GET /stat/app', 'GET /stat/go', 'GET /health/ready']),
    );
    expect([...new Set(documented)].sort()).toEqual([...new Set(served)].sort());
  });

  it('describes every operation with a summary and an example of its answer', async () => {
    const doc = (await gw.http.get('/docs-json').expect(200)).body as OpenAPIV3.Document;
    const resolved = (await SwaggerParser.dereference(structuredClone(doc) as never)) as OpenAPIV3.Document;
    for (const [path, item] of Object.entries(resolved.paths)) {
      for (const method of METHODS) {
        const operation = item?.[method];
        if (!operation) continue;
        const name = `${method.toUpperCase()} ${path}`;
        expect({ name, summary: operation.summary }).toEqual({ name, summary: expect.any(String) });
        const ok = Object.entries(operation.responses).find(([status]) => status.startsWith('2'));
        expect({ name, ok: ok !== undefined }).toEqual({ name, ok: true });
        expect({ name, example: JSON.stringify(ok![1]).includes('"example"') }).toEqual({ name, example: true });
      }
    }
    const push = resolved.paths['/push']!.post!;
    const body = (push.requestBody as OpenAPIV3.RequestBodyObject).content['application/json'].schema as OpenAPIV3.SchemaObject;
    expect((body.properties!.notifications as OpenAPIV3.SchemaObject).example).toEqual(
      expect.arrayContaining([expect.objectContaining({ platform: 1 }), expect.objectContaining({ platform: 2 })]),
    );
    expect(push.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'wait', in: 'query' })]));
  });

  it('fits client generation: bearer auth, every refusal documented, integer types, stable operation ids, typed answers', async () => {
    const doc = (await gw.http.get('/docs-json').expect(200)).body as OpenAPIV3.Document;
    expect(doc.components!.securitySchemes!.bearer).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    const resolved = (await SwaggerParser.dereference(structuredClone(doc) as never)) as OpenAPIV3.Document;
    const operations = Object.entries(resolved.paths).flatMap(([path, item]) =>
      METHODS.filter((m) => item?.[m] !== undefined).map((m) => ({ name: `${m.toUpperCase()} ${path}`, path, op: item![m]! })),
    );

    // Stable ids from the routes, unique, and usable as method names by any generator.
    const ids = operations.map((o) => o.op.operationId);
    expect(ids.every((id) => /^[a-z][A-Za-z]+$/.test(id ?? ''))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(operations.find((o) => o.name === 'POST /push')!.op.operationId).toBe('postPush');
    expect(operations.find((o) => o.name === 'GET /push/{id}')!.op.operationId).toBe('getPushById');
    expect(operations.find((o) => o.name === 'GET /stat/runtime')!.op.operationId).toBe('getStatRuntime');

    expect(operations.find((o) => o.name === 'GET /healthz')!.op.security).toEqual([]);
    for (const { name, path, op } of operations) {
      // The probes, Gorush's included, never need a key.
      if (path.startsWith('/health/') || path === '/healthz') {
        expect({ name, security: op.security }).toEqual({ name, security: [] });
        continue;
      }
      expect({ name, security: op.security }).toEqual({ name, security: [{ bearer: [] }] });
      expect({ name, statuses: Object.keys(op.responses) }).toEqual({ name, statuses: expect.arrayContaining(['401', '403', '429']) });
    }

    const push = resolved.paths['/push']!.post!;
    expect(Object.keys(push.responses).sort()).toEqual(['200', '400', '401', '403', '413', '429', '503']);
    for (const status of ['400', '401', '403', '413', '429', '503']) {
      const response = push.responses[status] as OpenAPIV3.ResponseObject;
      const schema = response.content!['application/json'].schema as OpenAPIV3.SchemaObject;
      expect({ status, message: schema.properties!.message, requestId: schema.properties!.request_id }).toEqual({
        status,
        message: expect.objectContaining({ type: 'string' }),
        requestId: expect.objectContaining({ type: 'string' }),
      });
      expect(response.headers).toHaveProperty('X-Request-Id');
    }
    expect((push.responses['429'] as OpenAPIV3.ResponseObject).headers).toHaveProperty('Retry-After');
    expect((push.responses['401'] as OpenAPIV3.ResponseObject).headers).toHaveProperty('WWW-Authenticate');
    expect(push.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'X-Request-Id', in: 'header' })]));

    // Every number the API answers or takes is a whole number typed `integer`, but for fractions such as a volume.
    expect(numberTyped(doc)).toEqual(FRACTIONAL.map((at) => ({ at, format: 'float' })));
    const accepted = doc.components!.schemas!.PushAcceptedDto as OpenAPIV3.SchemaObject;
    expect(accepted.properties!.message).toEqual(expect.objectContaining({ type: 'string' }));
    expect(accepted.properties!.count).toEqual(expect.objectContaining({ type: 'integer' }));

    const schemaOf = (path: string, status: string): OpenAPIV3.SchemaObject =>
      (resolved.paths[path]!.get!.responses[status] as OpenAPIV3.ResponseObject).content!['application/json']
        .schema as OpenAPIV3.SchemaObject;
    expect(schemaOf('/health/live', '200').properties).toEqual(
      expect.objectContaining({ status: expect.objectContaining({ enum: ['ok'] }), info: expect.objectContaining({ type: 'object' }) }),
    );
    for (const status of ['200', '503']) {
      expect(Object.keys(schemaOf('/health/ready', status).properties!).sort()).toEqual(['details', 'error', 'info', 'request_id', 'status']);
    }
  });

  it('serves the interactive UI at /docs', async () => {
    const res = await gw.http.get('/docs').redirects(1).expect(200);
    expect(res.text).toContain('swagger-ui');
  });
});

(haveRedisServer() ? describe : describe.skip)('OpenAPI description with the Redis queue', () => {
  let sim: Simulator;
  let redis: RedisServer;
  let gw: Gateway;

  beforeAll(async () => {
    [sim, redis] = await Promise.all([Simulator.start(), RedisServer.start()]);
    gw = await startGateway(sim, {
      PUSHGATE_QUEUE_BACKEND: 'redis',
      PUSHGATE_QUEUE_REDIS_URL: redis.url,
      PUSHGATE_AUTH_ANONYMOUS_ADMIN: 'true',
    });
  });
  afterAll(async () => {
    await gw?.close();
    await redis?.stop();
    await sim?.close();
  });

  it('types the dead-letter answers, with integer fields', async () => {
    const doc = (await gw.http.get('/docs-json').expect(200)).body as OpenAPIV3.Document;
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
    expect(numberTyped(doc)).toEqual(FRACTIONAL.map((at) => ({ at, format: 'float' })));
    const resolved = (await SwaggerParser.dereference(structuredClone(doc) as never)) as OpenAPIV3.Document;
    const list = resolved.paths['/queue/dead-letters']!.get!;
    expect(list.operationId).toBe('getQueueDeadLetters');
    const page = (list.responses['200'] as OpenAPIV3.ResponseObject).content!['application/json'].schema as OpenAPIV3.SchemaObject;
    const letter = (page.properties!.dead_letters as OpenAPIV3.ArraySchemaObject).items as OpenAPIV3.SchemaObject;
    expect(Object.keys(letter.properties!).sort()).toEqual(['dead_id', 'failed_at', 'id', 'notification', 'platform', 'reason', 'token']);
    expect(letter.properties!.platform).toEqual(expect.objectContaining({ type: 'integer' }));
    const replay = resolved.paths['/queue/dead-letters/replay']!.post!;
    const result = (replay.responses['200'] as OpenAPIV3.ResponseObject).content!['application/json'].schema as OpenAPIV3.SchemaObject;
    expect(result.properties!.count).toEqual(expect.objectContaining({ type: 'integer' }));
    expect(Object.keys(replay.responses).sort()).toEqual(['200', '400', '401', '403', '413', '429', '503']);
  });
});
