/**
 * edgecore flooded over DMI: a bounded burst of ReportDeviceStatus calls (20 devices x 250 calls,
 * all issued at once by one grpc-js client, as a mapper-framework mapper's gRPC stack would) far
 * faster than edgecore commits them. edgecore holds at most 256 calls per client at once (HTTP/2
 * SETTINGS_MAX_CONCURRENT_STREAMS); grpc-js keeps the rest waiting on its side. Afterwards every
 * call was answered OK, edgecore answers a fresh request, and each device's reportedVersion
 * counts exactly the reports edgecore acknowledged: none lost.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Grpc from '@grpc/grpc-js';
import { loadDmi } from '@edgetwin/sdk/dmi';
import { startEdgecore, tempDir, type EdgecoreProcess } from './helpers/edgecore-process.js';
import { floodDevicesYaml } from './helpers/flood-devices.js';

const DEVICES = 20;
const CALLS_PER_DEVICE = 250;

describe('edgecore flooded over DMI', () => {
  let edge: EdgecoreProcess;
  let client: Grpc.Client;

  beforeAll(async () => {
    const devicesDir = tempDir('dmi-flood-devices');
    writeFileSync(join(devicesDir, 'flood.yaml'), floodDevicesYaml({ devices: DEVICES, props: 1, prefix: 'flood' }));
    edge = await startEdgecore({ devicesDir });
    const { grpc, Manager } = loadDmi();
    client = new Manager(`unix:${join(edge.dataDir, 'dmi', 'dmi.sock')}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await edge?.kill();
  });

  it('tells each client it takes 256 calls at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS)', async () => {
    const socket = join(edge.dataDir, 'dmi', 'dmi.sock');
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(socket) });
    try {
      const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
      expect(settings.maxConcurrentStreams).toBe(256);
    } finally {
      session.close();
    }
  });

  it('answers every call, then a fresh request, and loses no acknowledged report', async () => {
    const report = (d: number, value: number) =>
      new Promise<string | undefined>((resolve) => {
        const req = {
          deviceName: `flood-${d}`,
          deviceNamespace: 'default',
          reportedDevice: { twins: [{ propertyName: 'p0', reported: { value: String(value) } }] },
        };
        type Unary = (r: unknown, o: Grpc.CallOptions, cb: (err: Grpc.ServiceError | null) => void) => void;
        const fn = (client as unknown as Record<string, Unary>).ReportDeviceStatus!;
        fn.call(client, req, { deadline: Date.now() + 120_000 }, (err) =>
          resolve(err ? `${err.code} ${err.details}` : undefined),
        );
      });
    const calls: Promise<string | undefined>[] = [];
    for (let i = 0; i < CALLS_PER_DEVICE; i++) for (let d = 0; d < DEVICES; d++) calls.push(report(d, i));
    const errors = (await Promise.all(calls)).filter((e) => e !== undefined);
    expect(errors.slice(0, 3)).toEqual([]);

    const res = await fetch(`${edge.http}/api/v1/devices/default/flood-0/twin`, {
      signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(200);
    for (let d = 0; d < DEVICES; d++) {
      const twin = await fetch(`${edge.http}/api/v1/devices/default/flood-${d}/twin`);
      // every acknowledged report counted once: r{reportedVersion} in the ETag
      expect(twin.headers.get('etag'), `flood-${d}`).toMatch(new RegExp(`-r${CALLS_PER_DEVICE}"$`));
      const body = (await twin.json()) as { reported: Record<string, { value: number }> };
      expect(body.reported.p0?.value).toBeGreaterThanOrEqual(0);
    }
  });
});
