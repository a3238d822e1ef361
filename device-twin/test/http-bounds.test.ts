import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { VALUE_LIMITS } from '@edgetwin/sdk';
import { createHttpApi, MetricsRegistry } from '@edgetwin/device-twin';
import { device, logger, model, openTwin, removeDir, resolveAll, type TwinFixture } from './fixtures.js';

let fx: TwinFixture;
let app: FastifyInstance;
let port = 0;
let base: string;

beforeAll(async () => {
  fx = await openTwin();
  fx.twin.applyResources(resolveAll([model('thermostat')], [device('t1')]));
  app = await createHttpApi({ twin: fx.twin, logger, metrics: new MetricsRegistry() });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  port = typeof addr === 'object' && addr ? addr.port : 0;
  base = `http://127.0.0.1:${port}/api/v1`;
});

afterAll(async () => {
  await app?.close();
  await fx?.close();
  removeDir(fx?.dir ?? '');
});

interface Answer {
  status: number;
  type: string;
  text: string;
  body: Record<string, unknown>;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // asserted by the caller through `type`
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, body };
}

function patchRaw(body: string, contentType = 'application/merge-patch+json'): Promise<Answer> {
  return fetch(`${base}/devices/default/t1/twin/desired`, {
    method: 'PATCH',
    headers: { 'content-type': contentType },
    body,
  }).then(answer);
}

/** Sends bytes over a plain socket (for what fetch refuses to send) and returns the raw answer. */
function rawRequest(request: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let data = '';
    s.on('data', (c: Buffer) => (data += c.toString('utf8')));
    s.on('error', reject);
    s.on('close', () => {
      const [head = '', text = ''] = data.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0);
      const type = /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '';
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // asserted by the caller
      }
      resolve({ status, type, text, body });
    });
    s.end(request);
  });
}

function expectProblem(a: Answer, status: number, code: string): void {
  expect(a.status).toBe(status);
  expect(a.type).toMatch(/^application\/problem\+json/);
  expect(a.body).toMatchObject({ status, code, type: `urn:edgetwin:error:${code}` });
  expect(a.body.title).toEqual(expect.any(String));
  expect(a.body.title).not.toBe('Error');
  expect(a.text.length).toBeLessThan(2048);
}

describe('HTTP API: bounded input and problem+json for every error', () => {
  it('a value nested thousands of arrays deep gets 400 ET_TOO_DEEP naming the limit, not a 500', async () => {
    const deep = `{"setpoint":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const a = await patchRaw(deep);
    expectProblem(a, 400, 'ET_TOO_DEEP');
    expect(a.body.detail).toMatch(new RegExp(`${VALUE_LIMITS.maxDepth} levels`));
    // as application/json too
    expectProblem(await patchRaw(deep, 'application/json'), 400, 'ET_TOO_DEEP');
  });

  it('a nested value within the depth limit gets 422 with a short excerpt of it', async () => {
    const a = await patchRaw(`{"setpoint":${'['.repeat(20)}1${']'.repeat(20)}}`);
    expectProblem(a, 422, 'ET_BAD_VALUE');
    expect(a.body.detail).toMatch(/setpoint/);
  });

  it('a STRING desired value over the string limit gets 413 naming the limit; at the limit it is accepted', async () => {
    const max = VALUE_LIMITS.maxStringLength;
    const over = await patchRaw(JSON.stringify({ mode: 'x'.repeat(max + 1) }));
    expectProblem(over, 413, 'ET_TOO_LARGE');
    expect(over.body.detail).toMatch(new RegExp(`at most ${max} characters`));
    expect(over.body.limit).toBe(max);
    const ok = await patchRaw(JSON.stringify({ mode: 'x'.repeat(max) }));
    expect(ok.status).toBe(200);
  });

  it('a bad value of 100 KB is answered with a short excerpt, not echoed', async () => {
    const a = await patchRaw(JSON.stringify({ setpoint: '9'.repeat(100_000) + 'x' }));
    expectProblem(a, 422, 'ET_BAD_VALUE');
    expect(a.text.length).toBeLessThan(1024);
  });

  it('a body over the size limit gets 413 ET_TOO_LARGE naming the limit', async () => {
    const a = await patchRaw(JSON.stringify({ mode: 'x'.repeat(VALUE_LIMITS.maxPayloadBytes) }));
    expectProblem(a, 413, 'ET_TOO_LARGE');
    expect(a.body.detail).toMatch(new RegExp(String(VALUE_LIMITS.maxPayloadBytes)));
  });

  it('bad JSON, an empty body and an unsupported media type are problems with stable codes', async () => {
    expectProblem(await patchRaw('{"setpoint":'), 400, 'ET_SCHEMA');
    expectProblem(await patchRaw('', 'application/json'), 400, 'ET_SCHEMA');
    expectProblem(await patchRaw('setpoint=20', 'application/x-www-form-urlencoded'), 415, 'ET_UNSUPPORTED_MEDIA_TYPE');
  });

  it('an unknown route, a bad URL and an over-long parameter are problems', async () => {
    expectProblem(await fetch(`${base}/nowhere`).then(answer), 404, 'ET_NOT_FOUND');
    expectProblem(await fetch(`${base}/devices/default/%E0%A4%A/twin`).then(answer), 400, 'ET_BAD_REQUEST');
    const long = await fetch(`${base}/devices/default/${'n'.repeat(5000)}/twin`).then(answer);
    expectProblem(long, 414, 'ET_TOO_LARGE');
    expect(long.text).not.toContain('n'.repeat(300));
  });

  it('headers over the size limit get 431 problem+json, and a malformed request 400 problem+json', async () => {
    const big = await rawRequest(`GET /api/v1/devices HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expectProblem(big, 431, 'ET_TOO_LARGE');
    const junk = await rawRequest('NOT-HTTP\r\n\r\n');
    expectProblem(junk, 400, 'ET_BAD_REQUEST');
    // the server is still fine
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
