/**
 * The write path end to end, in one process: edgecore (embedded broker, twin, HTTP API, DMI
 * server, devices from a YAML directory) and a protocol mapper run with `runMapper`, registered
 * with edgecore over DMI, against a real device peer the test starts. Tests PATCH desired values over HTTP and read the twin as a user does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { EdgeCore } from '@edgetwin/edgecore';
import { type WriteState } from '@edgetwin/sdk';
import { runMapper, type MapperDefinition, type MapperHandle } from '@edgetwin/sdk/mapper';
import { freePort, waitFor } from '@edgetwin/sdk/testing';
import type { TSchema } from '@sinclair/typebox';

export const NODE = 'write-node';

export interface TwinJson {
  state: string;
  desired: Record<string, { value: unknown; version: number; write?: WriteState }>;
  reported: Record<string, { value: unknown }>;
  delta: Record<string, unknown>;
}

export interface HttpAnswer {
  status: number;
  contentType: string;
  body: Record<string, unknown>;
}

export interface WritePath {
  core: EdgeCore;
  mapper: MapperHandle;
  twin(device: string): Promise<TwinJson>;
  /** PATCH desired values of `device` (`default/name`) with `?wait=reported`. */
  patch(device: string, values: Record<string, unknown>, timeoutMs?: number): Promise<HttpAnswer>;
  /** Waits until the device is online with a reported value for every property in `props`. */
  online(device: string, props: string[]): Promise<TwinJson>;
  stop(): Promise<void>;
}

export async function startWritePath<PS extends TSchema, VS extends TSchema>(opts: {
  yaml: string;
  definition: MapperDefinition<PS, VS>;
}): Promise<WritePath> {
  const dir = mkdtempSync(join(tmpdir(), 'edgetwin-write-path-'));
  const devicesDir = join(dir, 'devices');
  const logger = pino({ level: process.env.EDGETWIN_TEST_LOG ?? 'silent' });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(devicesDir);
  writeFileSync(join(devicesDir, 'devices.yaml'), opts.yaml);
  const core = new EdgeCore({
    devicesDir,
    dataDir: join(dir, 'data'),
    nodeName: NODE,
    logger,
    mqttPort: 0,
    httpPort: await freePort(),
    httpHost: '127.0.0.1',
    mappers: false,
    // The mapper runs in this process, not as a supervised process with its own MQTT identity.
    mqttAuth: false,
  });
  await core.start();
  const mapper = await runMapper(opts.definition, {
    dmiSocket: join(dir, 'data', 'dmi', 'dmi.sock'), // edgecore's default: <dataDir>/dmi/dmi.sock
    mqttUrl: core.mqttUrl,
    nodeName: NODE,
    logger,
    dataDir: join(dir, 'mapper'),
    backoff: { initialMs: 100, maxMs: 1000 },
  });
  const url = (device: string) => `${core.httpUrl}/api/v1/devices/${device}/twin`;
  const twin = async (device: string) => (await (await fetch(url(device))).json()) as TwinJson;
  return {
    core,
    mapper,
    twin,
    async patch(device, values, timeoutMs = 15_000) {
      const res = await fetch(`${url(device)}/desired?wait=reported&timeout=${timeoutMs}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify(values),
      });
      return {
        status: res.status,
        contentType: res.headers.get('content-type') ?? '',
        body: (await res.json()) as Record<string, unknown>,
      };
    },
    online: (device, props) =>
      waitFor(
        async () => {
          const t = await twin(device);
          return t.state === 'online' && props.every((p) => t.reported[p] !== undefined) ? t : undefined;
        },
        30_000,
        `device ${device} online with ${props.join(', ')} reported`,
      ),
    async stop() {
      await mapper.stop();
      await core.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
