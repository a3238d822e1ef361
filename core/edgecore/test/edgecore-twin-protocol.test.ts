/**
 * The KubeEdge twin protocol end to end: edgecore as a child process, driven by Debian's
 * mosquitto_pub and mosquitto_sub as an independent client, first against the embedded aedes
 * broker, then with Debian's Mosquitto as the external broker (--mqtt-url).
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MosquittoSub,
  missingPeer,
  mosquittoPub,
  startMosquitto,
  type BrokerTarget,
  type RunningPeer,
} from '@edgetwin/sdk/testing';
import { startEdgecore, tempDir, type EdgecoreProcess } from './helpers/edgecore-process.js';

const DEV = '$hw/events/device/default/thermostat-1';
const skip = missingPeer('mosquitto', 'mosquitto_sub', 'mosquitto_pub');

interface TwinResult {
  event_id: string;
  code?: number;
  reason?: string;
  twin?: Record<string, { current?: { actual?: { value?: string }; expected?: { value?: string } } }>;
  delta?: Record<string, string>;
  devices?: { id: string; name: string }[];
}

describe.each([
  { broker: 'the embedded aedes broker', external: false },
  { broker: 'Mosquitto as the external broker', external: true },
])('the KubeEdge twin protocol on $broker', ({ external }) => {
  let edge: EdgecoreProcess;
  let mosquitto: RunningPeer | undefined;
  let sub: MosquittoSub;
  let port: BrokerTarget;

  beforeAll(async () => {
    if (skip) return;
    const devicesDir = tempDir('devices');
    copyFileSync(join(import.meta.dirname, 'fixtures', 'thermostat.yaml'), join(devicesDir, 'thermostat.yaml'));
    if (external) mosquitto = await startMosquitto();
    edge = await startEdgecore({ devicesDir, ...(mosquitto ? { mqttUrl: mosquitto.url } : {}) });
    port = mosquitto?.port ?? edge.mqtt;
    sub = await MosquittoSub.start(port, `${DEV}/#`, '$hw/events/node/edge-1/#', 'devices/#');
  });

  afterAll(async () => {
    await sub?.stop();
    await edge?.kill();
    await mosquitto?.stop();
  });

  it.skipIf(skip)(
    'a reported actual value is answered with a result and a document, and reaches the data topic',
    async () => {
      await mosquittoPub(
        port,
        `${DEV}/twin/update`,
        JSON.stringify({
          event_id: 'r1',
          timestamp: Date.now(),
          twin: { temperature: { actual: { value: '22.5' }, metadata: { type: 'float' } } },
        }),
      );
      const result = (
        await sub.waitFor(`${DEV}/twin/update/result`, (m) => m.payload.includes('"r1"'))
      ).json() as TwinResult;
      expect(result.code).toBeUndefined();
      const doc = (
        await sub.waitFor(`${DEV}/twin/update/document`, (m) => m.payload.includes('22.5'))
      ).json() as TwinResult;
      expect(doc.twin?.temperature?.current?.actual?.value).toBe('22.5');
      const data = await sub.waitFor('devices/default/thermostat-1/temperature', (m) => m.payload.includes('22.5'));
      expect(data.json()).toMatchObject({ value: 22.5, timestamp: expect.any(Number) as number });
      const twin = (await (await fetch(`${edge.http}/api/v1/devices/default/thermostat-1/twin`)).json()) as {
        reported: Record<string, { value: unknown }>;
      };
      expect(twin.reported.temperature?.value).toBe(22.5);
    },
  );

  it.skipIf(skip)(
    'a quality sent with an actual value (EdgeTwin extension) reaches the twin and the data topic',
    async () => {
      await mosquittoPub(
        port,
        `${DEV}/twin/update`,
        JSON.stringify({
          event_id: 'q1',
          twin: {
            temperature: {
              actual: { value: '19.5', metadata: { timestamp: 1700000000000, quality: 'UncertainLastUsableValue' } },
            },
          },
        }),
      );
      const data = await sub.waitFor('devices/default/thermostat-1/temperature', (m) => m.payload.includes('19.5'));
      expect(data.json()).toEqual({ value: 19.5, timestamp: 1700000000000, quality: 'UncertainLastUsableValue' });
      const twin = (await (await fetch(`${edge.http}/api/v1/devices/default/thermostat-1/twin`)).json()) as {
        reported: Record<string, { quality?: string; sourceTime?: number }>;
      };
      expect(twin.reported.temperature).toMatchObject({
        quality: 'UncertainLastUsableValue',
        sourceTime: 1700000000000,
      });
    },
  );

  it.skipIf(skip)('a desired value set over HTTP is published as a delta', async () => {
    const res = await fetch(`${edge.http}/api/v1/devices/default/thermostat-1/twin/desired`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ setpoint: 25 }),
    });
    expect(res.status).toBe(200);
    const delta = (
      await sub.waitFor(`${DEV}/twin/update/delta`, (m) => m.payload.includes('"25"'))
    ).json() as TwinResult;
    expect(delta.delta?.setpoint).toBe('25');
  });

  it.skipIf(skip)('a desired value on the /set data topic is published as a delta', async () => {
    await mosquittoPub(port, 'devices/default/thermostat-1/power/set', 'true');
    const delta = (
      await sub.waitFor(`${DEV}/twin/update/delta`, (m) => (m.json() as TwinResult).delta?.power !== undefined)
    ).json() as TwinResult;
    expect(delta.delta?.power).toBe('true');
  });

  it.skipIf(skip)('membership get lists the node devices', async () => {
    await mosquittoPub(port, '$hw/events/node/edge-1/membership/get', JSON.stringify({ event_id: 'm1' }));
    const res = (await sub.waitFor('$hw/events/node/edge-1/membership/get/result')).json() as TwinResult;
    expect(res.devices?.map((d) => d.id)).toContain('default/thermostat-1');
  });

  it.skipIf(skip)('a state update is answered and shows in the twin and the state topic', async () => {
    await mosquittoPub(port, `${DEV}/state/update`, JSON.stringify({ event_id: 's1', state: 'online' }));
    await sub.waitFor(`${DEV}/state/update/result`);
    const state = await sub.waitFor('devices/default/thermostat-1/state', (m) => m.payload.includes('online'));
    expect(state.json()).toMatchObject({ state: 'online' });
  });

  it.skipIf(skip)('malformed JSON gets a 400 result that says what is wrong', async () => {
    await mosquittoPub(port, `${DEV}/twin/update`, '{"event_id": "bad1", twin: ');
    const res = (
      await sub.waitFor(`${DEV}/twin/update/result`, (m) => m.payload.includes('"code":400'))
    ).json() as TwinResult;
    expect(res.reason).toMatch(/JSON/);
  });

  it.skipIf(skip)('a value of the wrong type gets a 400 result naming the property and the type', async () => {
    await mosquittoPub(
      port,
      `${DEV}/twin/update`,
      JSON.stringify({
        event_id: 'bad2',
        twin: { setpoint: { actual: { value: 'warm' }, metadata: { type: 'int' } } },
      }),
    );
    const res = (
      await sub.waitFor(`${DEV}/twin/update/result`, (m) => m.payload.includes('"bad2"'))
    ).json() as TwinResult;
    expect(res.code).toBe(400);
    expect(res.reason).toMatch(/setpoint/);
    expect(res.reason).toMatch(/integer|INT/);
  });

  it.skipIf(skip)('a report for an unknown device is refused, not dropped', async () => {
    const topic = '$hw/events/device/default/ghost/twin/update';
    const ghost = await MosquittoSub.start(port, `${topic}/result`);
    try {
      await mosquittoPub(port, topic, JSON.stringify({ event_id: 'g1', twin: { x: { actual: { value: '1' } } } }));
      const res = (await ghost.waitFor(`${topic}/result`)).json() as TwinResult;
      expect([400, 404]).toContain(res.code);
      expect(res.reason).toMatch(/ghost/);
    } finally {
      await ghost.stop();
    }
  });
});
