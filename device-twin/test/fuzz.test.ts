/**
 * Fuzzing the twin's entry points (HTTP, `$hw` requests, `/set` data topics) with seeded random
 * input: deep nesting, long strings, bad JSON, bad bytes, bad URLs, junk on the socket. Bounded in
 * count and time, against 127.0.0.1 only. Nothing may answer 5xx, every request is answered, and
 * the service still works afterwards. The seed is fixed (FUZZ_SEED=n runs another one) and printed with any failure.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { connectMqtt, type MqttConnection } from '@edgetwin/sdk/mqtt';
import { missingPeer, startMosquitto, waitFor, type RunningPeer } from '@edgetwin/sdk/testing';
import { createHttpApi, MetricsRegistry, TwinMqttHandler } from '@edgetwin/device-twin';
import { device, logger, model, openTwin, removeDir, resolveAll, type TwinFixture } from './fixtures.js';
import { Fuzz, prng } from './fuzz-inputs.js';

const skip = missingPeer('mosquitto');
const SEED = Number(process.env.FUZZ_SEED ?? 20261206);
const MAX_REQUESTS = 300;
const MAX_MS = 20_000;
/** Percent-encodes what URLs can carry (a lone surrogate cannot be encoded). */
const enc = (s: string) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '?'));

describe.skipIf(skip)(`fuzzing the HTTP and MQTT entry points (seed ${SEED})`, () => {
  let broker: RunningPeer;
  let fx: TwinFixture;
  let edge: MqttConnection;
  let fuzzer: MqttConnection;
  let handler: TwinMqttHandler;
  let app: FastifyInstance;
  let port = 0;
  const results: { topic: string; code: number | undefined; size: number }[] = [];
  const f = new Fuzz(prng(SEED));

  beforeAll(async () => {
    broker = await startMosquitto();
    fx = await openTwin();
    fx.twin.applyResources(resolveAll([model('thermostat')], [device('t1')]));
    edge = await connectMqtt({ url: broker.url, clientId: 'edgecore-fuzz' });
    handler = new TwinMqttHandler({ twin: fx.twin, client: edge, nodeName: 'edge-1', logger });
    await handler.start();
    app = await createHttpApi({ twin: fx.twin, logger, metrics: new MetricsRegistry() });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    port = typeof addr === 'object' && addr ? addr.port : 0;
    fuzzer = await connectMqtt({ url: broker.url, clientId: 'fuzzer' });
    fuzzer.setMessageHandler((topic, payload, done) => {
      let code: number | undefined;
      try {
        const v = JSON.parse(payload.toString('utf8')) as { code?: unknown };
        code = typeof v.code === 'number' ? v.code : undefined;
      } catch {
        code = -1; // a result that is not JSON counts as a failure below
      }
      results.push({ topic, code, size: payload.length });
      done();
    });
    await fuzzer.subscribe(
      ['$hw/events/device/+/+/+/+/result', '$hw/events/node/+/membership/get/result', 'devices/+/+/+/set/result'],
      1,
    );
  });

  afterAll(async () => {
    await fuzzer?.end();
    await handler?.stop();
    await edge?.end();
    await app?.close();
    await fx?.close();
    removeDir(fx?.dir ?? '');
    await broker?.stop();
  });

  it('no HTTP request gets a 5xx, every error is a bounded problem+json', async () => {
    const base = `http://127.0.0.1:${port}`;
    const bad: string[] = [];
    const deadline = Date.now() + MAX_MS;
    let sent = 0;
    for (; sent < MAX_REQUESTS && Date.now() < deadline; sent++) {
      const kind = f.int(10);
      let res: Response;
      if (kind < 6) {
        const type = f.pick([
          'application/json',
          'application/merge-patch+json',
          'text/plain',
          'application/json; charset=latin1',
          '',
        ]);
        const body = f.rand() < 0.1 ? f.bytes() : f.rand() < 0.5 ? f.json() : JSON.stringify(f.value(3));
        const headers: Record<string, string> = type ? { 'content-type': type } : {};
        if (f.rand() < 0.2)
          headers['if-match'] = f.pick(['*', '"d1-r0"', 'W/"x"', f.string(30).replace(/[^\x20-\x7e]/g, '')]);
        const query =
          f.rand() < 0.2 ? `?wait=${enc(f.string(8))}&timeout=${f.pick(['-1', 'abc', '0', '999999999'])}` : '';
        res = await fetch(`${base}/api/v1/devices/default/t1/twin/desired${query}`, { method: 'PATCH', headers, body });
      } else if (kind < 9) {
        const seg = () => f.pick([enc(f.string(20)), '%E0%A4%A', '%', 'x'.repeat(f.int(400)), '..', 't1']);
        res = await fetch(`${base}/api/v1/devices/${seg()}/${seg()}/${f.pick(['twin', 'twin/desired', '', 'x'])}`);
      } else {
        res = await fetch(
          `${base}/${f.pick(['healthz', 'readyz', 'metrics', 'openapi.json', 'api/v1/devicemodels', f.string(10)])}`,
        );
      }
      const text = await res.text();
      const type = res.headers.get('content-type') ?? '';
      if (res.status >= 500) bad.push(`${res.status}: ${text.slice(0, 200)}`);
      if (res.status >= 400 && (!type.startsWith('application/problem+json') || text.length > 4096))
        bad.push(`${res.status} ${type} ${text.length} bytes: ${text.slice(0, 200)}`);
    }
    // Junk on the socket: answered 400/431 problem+json, never a crash.
    for (let i = 0; i < 20; i++) {
      const answer = await new Promise<string>((resolve) => {
        const s = connect(port, '127.0.0.1');
        let data = '';
        s.on('data', (c: Buffer) => (data += c.toString('latin1')));
        s.on('error', () => resolve(data));
        s.on('close', () => resolve(data));
        s.end(f.rand() < 0.5 ? f.bytes() : `GET /api/v1/devices HTTP/1.1\r\nX: ${'h'.repeat(f.int(40_000))}\r\n\r\n`);
      });
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1] ?? 0);
      if (status >= 500) bad.push(`raw ${status}: ${answer.slice(0, 200)}`);
    }
    expect(bad, `seed ${SEED}`).toEqual([]);
    expect(sent).toBeGreaterThan(0);
    const ok = await fetch(`${base}/api/v1/devices/default/t1/twin/desired`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"setpoint": 21}',
    });
    expect(ok.status).toBe(200);
  }, 60_000);

  it('every $hw request and /set gets a result, none with a 5xx code or an unbounded size', async () => {
    const hw = (d: string, kind: string) => `$hw/events/device/default/${d}/${kind}`;
    const deadline = Date.now() + MAX_MS;
    let sent = 0;
    for (; sent < MAX_REQUESTS && Date.now() < deadline; sent++) {
      const dev = f.rand() < 0.9 ? 't1' : 'ghost';
      const kind = f.int(5);
      let topic: string;
      let payload: string | Buffer;
      if (kind === 0) [topic, payload] = [hw(dev, 'twin/update'), f.twinUpdate()];
      else if (kind === 1)
        [topic, payload] = [
          hw(dev, 'state/update'),
          f.rand() < 0.5 ? f.json() : `{"event_id":"s","state":${f.json()}}`,
        ];
      else if (kind === 2) [topic, payload] = [hw(dev, 'twin/get'), f.rand() < 0.1 ? f.bytes() : f.json()];
      else if (kind === 3) [topic, payload] = ['$hw/events/node/edge-1/membership/get', f.json()];
      else
        [topic, payload] = [
          `devices/default/${dev}/${f.pick(['setpoint', 'mode', 'power', 'nope'])}/set`,
          f.rand() < 0.1 ? f.bytes() : f.json(),
        ];
      await fuzzer.publishAsync(topic, payload, 1);
    }
    await waitFor(
      () => results.length >= sent,
      30_000,
      `results for ${sent} requests (got ${results.length}; seed ${SEED})`,
    );
    const bad = results.filter((r) => r.code === -1 || (r.code !== undefined && r.code >= 500) || r.size > 64 * 1024);
    expect(bad, `seed ${SEED}`).toEqual([]);
    // Still serving: a good report is accepted.
    const from = results.length;
    await fuzzer.publishAsync(
      hw('t1', 'twin/update'),
      JSON.stringify({ event_id: 'after', twin: { temperature: { actual: { value: '21.5' } } } }),
      1,
    );
    await waitFor(() => results.length > from, 10_000, 'the answer to a good report');
    expect(results[from]?.code).toBeUndefined();
    expect(fx.twin.getTwin('default/t1')?.reported.temperature?.value).toBe(21.5);
  }, 90_000);
});
