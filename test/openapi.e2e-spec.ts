import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPIV3 } from 'openapi-types';
import { Simulator } from '../src/simulator/simulator';
import { startGateway, type Gateway } from './support/gateway';

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

describe('OpenAPI description', () => {
  let sim: Simulator;
  let gw: Gateway;

  beforeAll(async () => {
    sim = await Simulator.start();
    gw = await startGateway(sim);
  });
  afterAll(async () => {
    await gw.close();
    await sim.close();
  });

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

  it('serves the interactive UI at /docs', async () => {
    const res = await gw.http.get('/docs').redirects(1).expect(200);
    expect(res.text).toContain('swagger-ui');
  });
});
