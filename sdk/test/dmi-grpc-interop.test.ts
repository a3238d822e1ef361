/**
 * The small DMI gRPC (DmiClient, DmiGrpcServer over node:http2) against @grpc/grpc-js, an
 * independent implementation, both ways, on unix sockets: answers, error statuses with non-ASCII
 * text and `%`, deadlines, unknown methods, a server that stops and comes back, malformed frames.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DmiClient,
  DmiGrpcServer,
  GrpcError,
  Status,
  loadDmi,
  unary,
  type PbMapperRegisterRequest,
  type PbMapperRegisterResponse,
  type PbReportDeviceStatusRequest,
} from '@edgetwin/sdk/dmi';
import { waitFor } from '@edgetwin/sdk/testing';

const DETAILS = 'gerät "ß" nicht gefunden: 100% weg ✓ %41 %zz';
const SLOW_MS = 1500;

const register: PbMapperRegisterRequest = {
  withData: true,
  mapper: {
    name: 'm',
    version: '1',
    api_version: 'v1beta1',
    protocol: 'p',
    address: Buffer.from('/tmp/ü.sock'),
    state: 'ok',
  },
};
const reply: PbMapperRegisterResponse = {
  modelList: [{ name: 'model', namespace: 'ns', spec: { properties: [], commands: [] } }],
  deviceList: [
    { name: 'dev ✓', namespace: 'ns', spec: null, status: { twins: [], reportToCloud: false, reportCycle: -5 } },
  ],
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The manager service's behaviour, the same on both servers. */
async function manage(method: string, req: unknown): Promise<object> {
  if (method === 'MapperRegister') {
    expect(req).toMatchObject({ withData: true, mapper: { protocol: 'p', address: Buffer.from('/tmp/ü.sock') } });
    return reply;
  }
  const r = req as PbReportDeviceStatusRequest;
  if (r.deviceName === 'missing') throw new GrpcError(Status.NOT_FOUND, DETAILS);
  if (r.deviceName === 'slow') await sleep(SLOW_MS);
  return {};
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgetwin-grpc-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('our DmiClient against a grpc-js server', () => {
  let server: Grpc.Server | undefined;
  let path: string;
  let client: DmiClient<'DeviceManagerService'>;

  const serve = async () => {
    const { grpc, Manager } = loadDmi();
    const s = new grpc.Server();
    const h =
      (method: string): Grpc.handleUnaryCall<unknown, object> =>
      (call, cb) =>
        manage(method, call.request).then(
          (res) => cb(null, res),
          (err: GrpcError) => cb({ code: err.code, details: err.details }),
        );
    s.addService(Manager.service, {
      MapperRegister: h('MapperRegister'),
      ReportDeviceStatus: h('ReportDeviceStatus'),
      ReportDeviceStates: h('ReportDeviceStates'),
    });
    rmSync(path, { force: true });
    await new Promise<void>((res, rej) =>
      s.bindAsync(`unix:${path}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())),
    );
    server = s;
  };

  beforeAll(async () => {
    path = join(dir, 'grpcjs.sock');
    await serve();
    client = new DmiClient({ socketPath: path, service: 'DeviceManagerService' });
  });
  afterAll(() => {
    client.close();
    server?.forceShutdown();
  });

  it('gets the answer decoded as proto-loader decodes it', async () => {
    expect(await client.call('MapperRegister', register)).toEqual(reply);
    expect(client.connected).toBe(true);
  });

  it('gets the status and the non-ASCII details of an error', async () => {
    const err = await client.call('ReportDeviceStatus', { deviceName: 'missing' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrpcError);
    expect(err).toMatchObject({ code: Status.NOT_FOUND, details: DETAILS });
  });

  it('fails with DEADLINE_EXCEEDED when the answer takes longer than the deadline', async () => {
    const err = await client.call('ReportDeviceStatus', { deviceName: 'slow' }, 200).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: Status.DEADLINE_EXCEEDED });
    expect(await client.call('ReportDeviceStates', { deviceName: 'd', state: 'ok' })).toEqual({});
  });

  it('gets UNIMPLEMENTED for a method the server does not serve', async () => {
    const wrong = new DmiClient({ socketPath: path, service: 'DeviceMapperService' });
    try {
      const err = await wrong.call('GetDevice', { deviceName: 'd' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: Status.UNIMPLEMENTED });
    } finally {
      wrong.close();
    }
  });

  it('sees the server go, fails UNAVAILABLE meanwhile, and reconnects on the first call once it is back', async () => {
    let disconnects = 0;
    const off = client.onDisconnect(() => disconnects++);
    server!.forceShutdown();
    server = undefined;
    await waitFor(() => disconnects === 1, 10_000, 'the client to notice the server went away');
    expect(client.connected).toBe(false);
    const err = await client.call('ReportDeviceStates', { deviceName: 'd' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: Status.UNAVAILABLE });
    await serve();
    expect(await client.call('MapperRegister', register)).toEqual(reply);
    expect(client.connected).toBe(true);
    off();
  });
});

describe('a grpc-js client against our DmiGrpcServer', () => {
  let server: DmiGrpcServer<'DeviceManagerService'> | undefined;
  let path: string;
  let client: Grpc.Client;
  const internal: string[] = [];

  const serve = async () => {
    const s = new DmiGrpcServer({
      service: 'DeviceManagerService',
      handlers: {
        MapperRegister: (req: unknown) => manage('MapperRegister', req),
        ReportDeviceStatus: (req: unknown) => manage('ReportDeviceStatus', req),
        // ReportDeviceStates left out: UNIMPLEMENTED
      },
      onError: (method, code, details) => internal.push(`${method} ${code} ${details}`),
    });
    rmSync(path, { force: true });
    await s.listen(path);
    server = s;
  };

  beforeAll(async () => {
    path = join(dir, 'ours.sock');
    await serve();
    const { grpc, Manager } = loadDmi();
    client = new Manager(`unix:${path}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await server?.close();
  });

  it('gets the answer', async () => {
    expect(await unary(client, 'MapperRegister', register)).toEqual(reply);
  });

  it('gets the status and the non-ASCII details of an error', async () => {
    const err = await unary(client, 'ReportDeviceStatus', { deviceName: 'missing' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: Status.NOT_FOUND, details: DETAILS });
  });

  it('fails with DEADLINE_EXCEEDED, and the late answer does not disturb the server', async () => {
    const err = await unary(client, 'ReportDeviceStatus', { deviceName: 'slow' }, 200).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: Status.DEADLINE_EXCEEDED });
    await sleep(SLOW_MS); // the handler finishes and its answer is dropped
    expect(await unary(client, 'ReportDeviceStatus', { deviceName: 'd' })).toEqual({});
  });

  it('gets UNIMPLEMENTED for a method without a handler and for another service', async () => {
    expect(await unary(client, 'ReportDeviceStates', { deviceName: 'd' }).catch((e: unknown) => e)).toMatchObject({
      code: Status.UNIMPLEMENTED,
    });
    const { grpc, Mapper } = loadDmi();
    const other = new Mapper(`unix:${path}`, grpc.credentials.createInsecure());
    try {
      expect(await unary(other, 'GetDevice', { deviceName: 'd' }).catch((e: unknown) => e)).toMatchObject({
        code: Status.UNIMPLEMENTED,
      });
    } finally {
      other.close();
    }
  });

  it('answers a frame that is not the announced length, or not the message, with INTERNAL', async () => {
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(path) });
    const call = (body: Buffer) =>
      new Promise<string>((resolve, reject) => {
        const stream = session.request({
          ':method': 'POST',
          ':path': '/v1beta1.DeviceManagerService/ReportDeviceStatus',
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        let status = '';
        stream.on('response', (h) => (status = String(h['grpc-status'] ?? status)));
        stream.on('trailers', (h) => (status = String(h['grpc-status'] ?? status)));
        stream.on('error', reject);
        stream.on('close', () => resolve(status));
        stream.resume();
        stream.end(body);
      });
    try {
      expect(await call(Buffer.from([0, 0, 0, 0, 9, 1, 2]))).toBe(String(Status.INTERNAL));
      expect(await call(Buffer.from([0, 0, 0, 0, 2, (1 << 3) | 0, 1]))).toBe(String(Status.INTERNAL));
      expect(internal.join('\n')).toMatch(/ReportDeviceStatus 13 .*wire type 0, expected 2/);
    } finally {
      session.close();
    }
  });

  it('stops with the client told to go away; grpc-js reconnects once it serves again', async () => {
    await server!.close();
    server = undefined;
    const err = await unary(client, 'MapperRegister', register, 1000).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: Status.UNAVAILABLE });
    await serve();
    // grpc-js retries its connection with backoff (1 s first): allow it a few attempts.
    let answer: unknown;
    await waitFor(
      async () => {
        answer = await unary(client, 'MapperRegister', register, 1000).catch(() => undefined);
        return answer !== undefined;
      },
      20_000,
      'grpc-js to reconnect',
    );
    expect(answer).toEqual(reply);
  });
});
