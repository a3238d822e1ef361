/**
 * edgecore flooded: a bounded burst of `$hw` twin/update reports (20 devices x 1,000 reports,
 * published at once by 20 mosquitto_pub processes, far faster than edgecore commits them) on the
 * embedded aedes broker and on Mosquitto. Afterwards every report has its result, edgecore answers
 * a fresh twin/get, and what edgecore acknowledged is what its twin holds: no acknowledged update
 * is lost, nothing is dropped with "publish failed".
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MosquittoSub,
  missingPeer,
  mosquittoPub,
  mosquittoPubLines,
  startMosquitto,
  waitFor,
  type BrokerTarget,
  type RunningPeer,
} from '@edgetwin/sdk/testing';
import { startEdgecore, tempDir, type EdgecoreProcess } from './helpers/edgecore-process.js';
import { floodDevicesYaml } from './helpers/flood-devices.js';

const skip = missingPeer('mosquitto', 'mosquitto_sub', 'mosquitto_pub');
const DEVICES = 20;
const PROPS = 5;
const REPORTS_PER_DEVICE = 1000;

const devicesYaml = () => floodDevicesYaml({ devices: DEVICES, props: PROPS, prefix: 'dev' });

/** Report i of a device sets property p{i % PROPS} to i: per property the values only grow. */
function report(d: number, i: number): string {
  return JSON.stringify({
    event_id: `d${d}-${i}`,
    timestamp: Date.now(),
    twin: { [`p${i % PROPS}`]: { actual: { value: String(i) }, metadata: { type: 'int' } } },
  });
}

describe.each([
  { broker: 'the embedded aedes broker', external: false },
  { broker: 'Mosquitto', external: true },
])('edgecore flooded on $broker', ({ external }) => {
  let edge: EdgecoreProcess;
  let mosquitto: RunningPeer | undefined;
  let port: BrokerTarget;

  beforeAll(async () => {
    if (skip) return;
    const devicesDir = tempDir('devices');
    writeFileSync(join(devicesDir, 'flood.yaml'), devicesYaml());
    if (external) mosquitto = await startMosquitto();
    edge = await startEdgecore({ devicesDir, ...(mosquitto ? { mqttUrl: mosquitto.url } : {}) });
    port = mosquitto?.port ?? edge.mqtt; // the edge broker admits no anonymous client
  });

  afterAll(async () => {
    await edge?.kill();
    await mosquitto?.stop();
  });

  it.skipIf(skip)(
    'answers every report of a 20,000-report burst, then a fresh twin/get, and its twin holds what it acknowledged',
    async () => {
      const results = await MosquittoSub.start(port, '$hw/events/device/default/+/twin/update/result');
      try {
        await Promise.all(
          Array.from({ length: DEVICES }, (_, d) =>
            mosquittoPubLines(
              port,
              `$hw/events/device/default/dev-${d}/twin/update`,
              Array.from({ length: REPORTS_PER_DEVICE }, (_, i) => report(d, i)),
            ),
          ),
        );
        const total = DEVICES * REPORTS_PER_DEVICE;
        const answered = new Map<string, { code?: number }>();
        let read = 0;
        await waitFor(
          () => {
            for (; read < results.messages.length; read++) {
              const m = results.messages[read]!;
              if (!m.topic.endsWith('/twin/update/result')) continue; // mosquitto_sub's probe
              const body = m.json() as { event_id?: string; code?: number };
              if (body.event_id?.startsWith('d')) answered.set(body.event_id, body);
            }
            return answered.size >= total;
          },
          90_000,
          `results for all ${total} reports`,
        );
        expect(answered.size).toBe(total);
        expect([...answered.values()].filter((r) => r.code !== undefined)).toEqual([]);

        // A fresh request is answered once the burst is over.
        const gets = await MosquittoSub.start(port, '$hw/events/device/default/dev-0/twin/get/result');
        try {
          await mosquittoPub(port, '$hw/events/device/default/dev-0/twin/get', JSON.stringify({ event_id: 'fresh' }));
          const fresh = await gets.waitFor('$hw/events/device/default/dev-0/twin/get/result', () => true, 0, 30_000);
          expect((fresh.json() as { event_id: string }).event_id).toBe('fresh');
        } finally {
          await gets.stop();
        }

        // Every acknowledged report is in the twin: per property the value is the last one reported.
        for (let d = 0; d < DEVICES; d++) {
          const res = await fetch(`${edge.http}/api/v1/devices/default/dev-${d}/twin`);
          const twin = (await res.json()) as { reported: Record<string, { value: number }> };
          for (let p = 0; p < PROPS; p++) {
            const last = REPORTS_PER_DEVICE - PROPS + p;
            expect(twin.reported[`p${p}`]?.value, `dev-${d} p${p}`).toBe(last);
          }
        }
        expect(edge.logs.filter((l) => l.includes('publish failed'))).toEqual([]);
      } finally {
        await results.stop();
      }
    },
  );
});
