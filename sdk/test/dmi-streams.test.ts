/**
 * The sdk's DMI client keeps to the server's SETTINGS_MAX_CONCURRENT_STREAMS: calls beyond it wait
 * for a free stream instead of being refused (node's HTTP/2 client would reset them with
 * REFUSED_STREAM). The server here is node:http2 itself, answering slowly and counting how many
 * calls it holds at once. The sdk's DMI server answers a call whose deadline has passed before its request was read
 * with DEADLINE_EXCEEDED, without running the handler.
 */
import http2 from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmiClient } from '../src/dmi/h2-client.js';
import { DmiGrpcServer } from '../src/dmi/h2-server.js';
import { Status, frame } from '../src/dmi/grpc-status.js';

describe('DMI client and the server stream limit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgetwin-dmi-streams-'));
  const socket = join(dir, 's.sock');
  let server: http2.Http2Server;
  let open = 0;
  let most = 0;
  let served = 0;

  beforeAll(async () => {
    server = http2.createServer({ settings: { maxConcurrentStreams: 4 } });
    server.on('stream', (stream) => {
      stream.resume();
      stream.on('end', () => {
        open++;
        most = Math.max(most, open);
        setTimeout(() => {
          open--;
          served++;
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(Buffer.from([0, 0, 0, 0, 0])); // one empty message: ReportDeviceStatusResponse {}
        }, 10);
      });
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('50 calls at once against a limit of 4: all answered, never more than 4 open', async () => {
    const client = new DmiClient({ socketPath: socket, service: 'DeviceManagerService' });
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => client.call('ReportDeviceStatus', { deviceName: `d${i}` }, 20_000)),
      );
      const failed = results.filter((r) => r.status === 'rejected');
      expect(failed, String(failed[0]?.reason)).toEqual([]);
      expect(served).toBe(50);
      expect(most).toBeLessThanOrEqual(4);
      expect(most).toBeGreaterThan(1); // the limit, not one at a time
    } finally {
      client.close();
    }
  });
});

describe('DMI client with more calls than the server takes', () => {
  it('queues up to maxQueued and refuses the rest at once with RESOURCE_EXHAUSTED; every queued call is answered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgetwin-dmi-queue-'));
    const socket = join(dir, 's.sock');
    let served = 0;
    const server = http2.createServer({ settings: { maxConcurrentStreams: 4 } });
    server.on('stream', (stream) => {
      stream.resume();
      stream.on('end', () =>
        setTimeout(() => {
          served++;
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(Buffer.from([0, 0, 0, 0, 0]));
        }, 10),
      );
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    const client = new DmiClient({ socketPath: socket, service: 'DeviceManagerService', maxQueued: 8 });
    try {
      await client.call('ReportDeviceStatus', {}, 5000); // the session knows the limit of 4
      served = 0;
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, () => client.call('ReportDeviceStatus', {}, 5000)),
      );
      const refused = results.filter((r) => r.status === 'rejected');
      // 4 open and 8 waiting; the other 38 are refused at once, naming why.
      expect(refused).toHaveLength(38);
      for (const r of refused) {
        expect(r.reason).toMatchObject({ code: Status.RESOURCE_EXHAUSTED });
        expect(String(r.reason)).toContain('8 wait for a stream');
      }
      expect(served).toBe(12);
    } finally {
      client.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('DMI server and a deadline that passed before the request was read', () => {
  it('answers DEADLINE_EXCEEDED without running the handler; a call with time left is served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgetwin-dmi-deadline-'));
    const socket = join(dir, 's.sock');
    let handled = 0;
    const server = new DmiGrpcServer({
      service: 'DeviceManagerService',
      handlers: {
        ReportDeviceStatus: () => {
          handled++;
          return {};
        },
      },
    });
    await server.listen(socket);
    const session = http2.connect('http://localhost', { path: socket } as http2.SecureClientSessionOptions & {
      path: string;
    });
    const call = (timeout: string) =>
      new Promise<string>((resolve, reject) => {
        const req = session.request({
          ':method': 'POST',
          ':path': '/v1beta1.DeviceManagerService/ReportDeviceStatus',
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': timeout,
        });
        let status = '';
        req.on('response', (h) => (status = String(h['grpc-status'] ?? status)));
        req.on('trailers', (h) => (status = String(h['grpc-status'] ?? status)));
        req.on('error', reject);
        req.resume();
        req.on('close', () => resolve(status));
        req.end(frame(Buffer.alloc(0)));
      });
    try {
      // 1 ns: gone by the time the request has been read (at least one more turn of the loop).
      expect(await call('1n')).toBe(String(Status.DEADLINE_EXCEEDED));
      expect(handled).toBe(0);
      expect(await call('5S')).toBe(String(Status.OK));
      expect(handled).toBe(1);
    } finally {
      session.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
