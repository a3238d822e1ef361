import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { waitFor, type Json } from '@edgetwin/sdk/testing';
import { createHttpApi, MetricsRegistry } from '@edgetwin/device-twin';
import { device, logger, model, openTwin, removeDir, resolveAll, type TwinFixture } from './fixtures.js';
import { SseClient } from './sse-client.js';

let fx: TwinFixture;
let app: FastifyInstance;
let base: string;
let ready: boolean | string = true;
const metrics = new MetricsRegistry();

beforeAll(async () => {
  fx = await openTwin();
  fx.twin.applyResources(resolveAll([model('thermostat')], [device('t1'), device('t2'), device('t3'), device('t4')]));
  app = await createHttpApi({ twin: fx.twin, logger, metrics, ready: () => ready, sseJournalSize: 8 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/api/v1`;
});

afterAll(async () => {
  await app?.close();
  await fx?.close();
  removeDir(fx?.dir ?? '');
});

async function patch(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/merge-patch+json', ...headers },
    body: JSON.stringify(body),
  });
  return { res, body: (await res.json()) as Json };
}

describe('HTTP device-twin API', () => {
  it('lists devices and models and shows one device', async () => {
    const list = (await (await fetch(`${base}/devices`)).json()) as { items: { id: string; properties: unknown[] }[] };
    expect(list.items.map((d) => d.id)).toEqual(['default/t1', 'default/t2', 'default/t3', 'default/t4']);
    expect(list.items[0]!.properties).toContainEqual({
      name: 'setpoint',
      type: 'INT',
      accessMode: 'ReadWrite',
      minimum: 5,
      maximum: 30,
    });
    const one = (await (await fetch(`${base}/devices/default/t1`)).json()) as {
      device: { kind: string };
      model: string;
    };
    expect(one.device.kind).toBe('Device');
    expect(one.model).toBe('thermostat');
    const models = (await (await fetch(`${base}/devicemodels`)).json()) as { items: { metadata: { name: string } }[] };
    expect(models.items.map((m) => m.metadata.name)).toEqual(['thermostat']);
  });

  it('an unknown device gets 404 as application/problem+json', async () => {
    const res = await fetch(`${base}/devices/default/nope/twin`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const p = (await res.json()) as Record<string, unknown>;
    expect(p).toMatchObject({ status: 404, code: 'ET_NOT_FOUND', title: 'Not found' });
    expect(p.detail).toMatch(/default\/nope/);
    const patched = await patch('/devices/default/nope/twin/desired', { setpoint: 20 });
    expect(patched.res.status).toBe(404);
    const events = await fetch(`${base}/devices/default/nope/events`);
    expect(events.status).toBe(404);
    expect(events.headers.get('content-type')).toMatch(/application\/problem\+json/);
  });

  it('a desired patch is typed, versioned and shows up in the twin with an ETag', async () => {
    const { res, body } = await patch('/devices/default/t1/twin/desired', { setpoint: 21, mode: 'eco' });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"d1-r0"');
    expect(body.desired.setpoint).toMatchObject({ value: 21, source: 'http', version: 1 });
    expect(body.delta).toEqual({ setpoint: 21, mode: 'eco' });
    // plain application/json works too, and null deletes (merge patch)
    const res2 = await fetch(`${base}/devices/default/t1/twin/desired`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: null }),
    });
    expect(res2.status).toBe(200);
    const twin = await fetch(`${base}/devices/default/t1/twin`);
    expect(twin.headers.get('etag')).toBe('"d2-r0"');
    const unchanged = await fetch(`${base}/devices/default/t1/twin`, { headers: { 'if-none-match': '"d2-r0"' } });
    expect(unchanged.status).toBe(304);
    expect(((await twin.json()) as { desired: object }).desired).not.toHaveProperty('mode');
  });

  it('a stale If-Match gets 412, while reported updates alone never make it stale', async () => {
    const first = await fetch(`${base}/devices/default/t2/twin`);
    const etag = first.headers.get('etag')!;
    await fx.twin.report('default/t2', { temperature: { value: 20 } });
    await fx.twin.report('default/t2', { temperature: { value: 20.5 } });
    const ok = await patch('/devices/default/t2/twin/desired', { setpoint: 20 }, { 'if-match': etag });
    expect(ok.res.status).toBe(200);
    const stale = await patch('/devices/default/t2/twin/desired', { setpoint: 22 }, { 'if-match': etag });
    expect(stale.res.status).toBe(412);
    expect(stale.body).toMatchObject({ code: 'ET_PRECONDITION', status: 412 });
    expect(fx.twin.getTwin('default/t2')!.desired.setpoint?.value).toBe(20);
  });

  it('a wrong type gets 422 naming the property and the expected type; ReadOnly and range too', async () => {
    const wrong = await patch('/devices/default/t3/twin/desired', { setpoint: 'warm' });
    expect(wrong.res.status).toBe(422);
    expect(wrong.body).toMatchObject({
      code: 'ET_BAD_VALUE',
      property: 'setpoint',
      propertyType: 'INT',
      expected: 'an integer (INT)',
    });
    expect(wrong.body.detail).toMatch(/"setpoint": expected an integer \(INT\)/);
    const ro = await patch('/devices/default/t3/twin/desired', { temperature: 20 });
    expect(ro.res.status).toBe(422);
    expect(ro.body.code).toBe('ET_READ_ONLY');
    const range = await patch('/devices/default/t3/twin/desired', { setpoint: 99 });
    expect(range.res.status).toBe(422);
    expect(range.body.detail).toMatch(/above the maximum 30/);
    const unknown = await patch('/devices/default/t3/twin/desired', { humidity: 1 });
    expect(unknown.res.status).toBe(422);
    expect(unknown.body.code).toBe('ET_UNKNOWN_PROPERTY');
    const notObject = await patch('/devices/default/t3/twin/desired', [1, 2]);
    expect(notObject.res.status).toBe(400);
  });

  it('wait=reported answers once the device reports the new value', async () => {
    const pending = patch('/devices/default/t3/twin/desired?wait=reported&timeout=20000', { setpoint: 19 });
    await waitFor(() => fx.twin.getTwin('default/t3')!.desired.setpoint?.value === 19, 10_000, 'desired stored');
    await fx.twin.report('default/t3', { setpoint: { value: '19' } });
    const { res, body } = await pending;
    expect(res.status).toBe(200);
    expect(body.reported.setpoint.value).toBe(19);
    expect(body.delta).toEqual({});
  });

  it('wait=reported times out with 504 when the device does not report, and the value stays stored', async () => {
    const { res, body } = await patch('/devices/default/t3/twin/desired?wait=reported&timeout=300', { setpoint: 25 });
    expect(res.status).toBe(504);
    expect(body).toMatchObject({ code: 'ET_TIMEOUT', pending: ['setpoint'] });
    expect(fx.twin.getTwin('default/t3')!.desired.setpoint?.value).toBe(25);
  });

  it('SSE resumes after a disconnect with Last-Event-ID, replaying exactly what was missed', async () => {
    const url = `${base}/devices/default/t4/events`;
    const a = await new SseClient(url).open();
    expect(a.status).toBe(200);
    await waitFor(() => a.events.find((e) => e.event === 'snapshot'), 10_000, 'snapshot');
    await fx.twin.report('default/t4', { temperature: { value: 1 } });
    const seen = await waitFor(() => a.events.find((e) => e.event === 'change'), 10_000, 'first change');
    expect(JSON.parse(seen.data)).toMatchObject({
      kind: 'reported',
      changed: ['temperature'],
      reported: { temperature: { value: 1 } },
    });
    await a.close();

    await fx.twin.report('default/t4', { temperature: { value: 2 } });
    await fx.twin.setDesired('default/t4', { setpoint: 10 }, { source: 'http' });
    const b = await new SseClient(url, { 'last-event-id': seen.id! }).open();
    await waitFor(() => b.events.length >= 2, 10_000, 'replayed events');
    await fx.twin.setState('default/t4', 'online');
    await waitFor(() => b.events.length >= 3, 10_000, 'live event after replay');
    await b.close();
    expect(b.events.map((e) => e.event)).toEqual(['change', 'change', 'change']);
    expect(b.events.map((e) => Number(e.id))).toEqual([Number(seen.id) + 1, Number(seen.id) + 2, Number(seen.id) + 3]);
    expect(b.events.map((e) => (JSON.parse(e.data) as { kind: string }).kind)).toEqual([
      'reported',
      'desired',
      'state',
    ]);
  });

  it('SSE sends a full snapshot when Last-Event-ID is older than the journal', async () => {
    const url = `${base}/devices/default/t4/events`;
    const a = await new SseClient(url).open();
    await waitFor(() => a.events.length > 0, 10_000, 'first event');
    await a.close();
    for (let i = 0; i < 12; i++) await fx.twin.report('default/t4', { temperature: { value: 10 + i } });
    const b = await new SseClient(url, { 'last-event-id': '1' }).open();
    const snap = await waitFor(() => b.events[0], 10_000, 'snapshot');
    await b.close();
    expect(snap.event).toBe('snapshot');
    expect(JSON.parse(snap.data)).toMatchObject({ id: 'default/t4', reported: { temperature: { value: 21 } } });
  });

  it('closing the API ends open event streams instead of hanging', async () => {
    const other = await createHttpApi({ twin: fx.twin, logger, metrics: new MetricsRegistry() });
    await other.listen({ port: 0, host: '127.0.0.1' });
    const addr = other.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const stream = await new SseClient(`http://127.0.0.1:${port}/api/v1/devices/default/t1/events`).open();
    await waitFor(() => stream.events.length > 0, 10_000, 'the snapshot');
    await other.close();
    await stream.ended;
    expect(stream.events[0]!.event).toBe('snapshot');
  });

  it('serves health, readiness, metrics and an OpenAPI document built from the route schemas', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base.replace('/api/v1', '')}/healthz`)).status).toBe(200);
    ready = 'the broker is not connected yet';
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { detail: string }).detail).toBe('the broker is not connected yet');
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${base.replace('/api/v1', '')}/metrics`)).text();
    expect(text).toMatch(/# TYPE edgetwin_twin_commit_seconds histogram/);
    expect(text).toMatch(/edgetwin_twin_updates_committed_total\{kind="desired"\} \d+/);
    expect(text).toMatch(
      /edgetwin_http_requests_total\{method="PATCH",route="\/api\/v1\/devices\/:ns\/:name\/twin\/desired",status="412"\} 1/,
    );
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Json>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    const patchOp = doc.paths['/api/v1/devices/{ns}/{name}/twin/desired']?.patch;
    expect(patchOp.requestBody.content['application/merge-patch+json']).toBeDefined();
    expect(patchOp.responses['412']).toBeDefined();
    expect(
      doc.paths['/api/v1/devices/{ns}/{name}/twin']?.get.responses['200'].content['application/json'].schema.properties,
    ).toHaveProperty('desiredVersion');
  });
});
