/**
 * Pairing scans in the BLE driver, over noble driven by the simulator's bindings: each address is
 * published once per window however often it advertises, at most 20 advertisements a second go
 * out (the rest are counted as dropped), the window ends with its counts, and a bad request is
 * answered with the schema's reason. The driver's MQTT is an in-memory loopback of the MapperMqtt
 * port it is given (`ctx.mqtt`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { blePairingTopics, type BleAdvertisement, type PairingCommandResult } from '@edgetwin/sdk';
import type { MapperContext, MapperDriver, MapperMqtt } from '@edgetwin/sdk/mapper';
import { waitFor } from '@edgetwin/sdk/testing';
import { createBleDriver, type BleProtocolConfig, type BleVisitorConfig } from '@edgetwin/mapper-ble';
import { SimBindings, SimWorld } from '@edgetwin/mapper-ble/sim';
import { testContext } from './helpers.js';

/** Publishes reach the subscribers of the same process; every publish is kept. */
function loopbackMqtt(): MapperMqtt & { published: { topic: string; body: unknown }[]; listens(t: string): boolean } {
  const handlers = new Map<string, (topic: string, payload: Buffer) => void>();
  const published: { topic: string; body: unknown }[] = [];
  return {
    published,
    listens: (topic) => handlers.has(topic),
    publish(topic, payload) {
      published.push({ topic, body: JSON.parse(payload.toString()) as unknown });
      handlers.get(topic)?.(topic, Buffer.from(payload));
      return Promise.resolve();
    },
    subscribe(filter, handler) {
      handlers.set(filter, handler);
      return Promise.resolve(() => {
        handlers.delete(filter);
        return Promise.resolve();
      });
    },
  };
}

let world: SimWorld;
let driver: MapperDriver<BleProtocolConfig, BleVisitorConfig>;

afterEach(async () => {
  await driver?.stop();
  await world?.stop();
});

describe('BLE pairing scans', () => {
  it('publishes each address once, at most 20 a second, and ends the window with its counts', async () => {
    world = new SimWorld();
    for (let i = 0; i < 60; i++) {
      const hex = i.toString(16).padStart(2, '0');
      world.add({ address: `e7:00:00:00:01:${hex}`, localName: `tag-${hex}`, rssi: -40 - i, services: [] });
    }
    const mqtt = loopbackMqtt();
    const ctx: MapperContext = { ...testContext(), mqtt };
    driver = createBleDriver(ctx, { bindings: new SimBindings(world, { advertiseIntervalMs: 20 }) });
    const node = ctx.nodeName;
    await waitFor(() => mqtt.listens(blePairingTopics.scan(node)), 5000, 'the driver to subscribe');
    await mqtt.publish(blePairingTopics.scan(node), JSON.stringify({ seconds: 3, id: 'scan-1' }));
    const ended = await waitFor(
      () =>
        mqtt.published.find(
          (m) => m.topic === blePairingTopics.scanResult(node) && (m.body as PairingCommandResult).ended,
        ),
      20_000,
      'the scan window to end',
    );
    const answer = mqtt.published.find((m) => m.topic === blePairingTopics.scanResult(node))
      ?.body as PairingCommandResult;
    expect(answer).toMatchObject({ ok: true, id: 'scan-1', seconds: 3 });
    const ads = mqtt.published
      .filter((m) => m.topic === blePairingTopics.advertisement(node))
      .map((m) => m.body as BleAdvertisement);
    const addresses = ads.map((a) => a.address);
    expect(new Set(addresses).size).toBe(addresses.length); // once per address in a 3 s window
    const perSecond = new Map<number, number>();
    for (const a of ads)
      perSecond.set(Math.floor(a.timestamp / 1000), (perSecond.get(Math.floor(a.timestamp / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(20);
    const counts = ended.body as PairingCommandResult;
    expect(counts).toMatchObject({ ok: true, ended: true, id: 'scan-1', seen: ads.length });
    expect(counts.dropped).toBeGreaterThan(0); // 60 tags advertising 50 times a second
    expect(ads.find((a) => a.address === 'e7:00:00:00:01:00')).toMatchObject({
      name: 'tag-00',
      rssi: -40,
      serviceUuids: [],
    });
  });

  it('answers a request outside 0-120 s with the schema’s reason and scans nothing', async () => {
    world = new SimWorld();
    world.add({ address: 'e7:00:00:00:01:01', services: [] });
    const mqtt = loopbackMqtt();
    const ctx: MapperContext = { ...testContext(), mqtt };
    driver = createBleDriver(ctx, { bindings: new SimBindings(world) });
    await waitFor(() => mqtt.listens(blePairingTopics.scan(ctx.nodeName)), 5000, 'the driver to subscribe');
    await mqtt.publish(blePairingTopics.scan(ctx.nodeName), JSON.stringify({ seconds: 121, id: 'too-long' }));
    const r = await waitFor(
      () =>
        mqtt.published.find((m) => m.topic === blePairingTopics.scanResult(ctx.nodeName))?.body as
          PairingCommandResult | undefined,
      10_000,
      'the answer',
    );
    expect(r).toMatchObject({ ok: false, code: 'ET_SCHEMA' });
    expect(r.reason).toMatch(/seconds/);
  });
});
