import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { connectMqtt, type MqttConnection } from '@edgetwin/sdk/mqtt';
import {
  MosquittoSub,
  missingPeer,
  mosquittoPub,
  mosquittoPubLines,
  startMosquitto,
  type RunningPeer,
} from '@edgetwin/sdk/testing';
import { createHttpApi, MetricsRegistry, TwinMqttHandler } from '@edgetwin/device-twin';
import { device, logger, model, openTwin, removeDir, resolveAll, type TwinFixture } from './fixtures.js';

const skip = missingPeer('mosquitto', 'mosquitto_sub', 'mosquitto_pub');

describe.skipIf(skip)('MQTT twin protocol against Mosquitto, driven by mosquitto_pub/mosquitto_sub', () => {
  let broker: RunningPeer;
  let fx: TwinFixture;
  let client: MqttConnection;
  let handler: TwinMqttHandler;
  let app: FastifyInstance;
  let sub: MosquittoSub;
  const hw = '$hw/events/device/default';
  const m = [model('thermostat')];
  const initial = () => [
    device('t1', { desired: { setpoint: '20' } }),
    device('t2', { pushTopic: { temperature: 'plant/t2/temp' } }),
  ];

  beforeAll(async () => {
    broker = await startMosquitto();
    fx = await openTwin();
    fx.twin.applyResources(resolveAll(m, initial()));
    // A tiny in-flight limit, so the back-pressure path is exercised too.
    client = await connectMqtt({ url: broker.url, clientId: 'edgecore-test', maxInFlight: 4 });
    handler = new TwinMqttHandler({ twin: fx.twin, client, nodeName: 'edge-1', logger });
    sub = await new MosquittoSub(broker.port, ['$hw/#', 'devices/#', 'plant/#', 'edgetwin/#']).start();
    await handler.start();
    app = await createHttpApi({ twin: fx.twin, logger, metrics: new MetricsRegistry() });
  });

  afterAll(async () => {
    await handler?.stop();
    await client?.end();
    await app?.close();
    await sub?.stop();
    await fx?.close();
    removeDir(fx?.dir ?? '');
    await broker?.stop();
  });

  it('on start, publishes the delta of desired values set before it was listening', async () => {
    // t1's spec desired setpoint (20) was applied before the handler started.
    const delta = await sub.waitFor(`${hw}/t1/twin/update/delta`, (x) => x.json().delta?.setpoint === '20');
    expect(delta.json().twin.setpoint.expected.value).toBe('20');
  });

  it('publishes no mapper spec (mappers get theirs over DMI) and clears one left by an older version', async () => {
    // retained specs would arrive with a new subscription
    const late = await new MosquittoSub(broker.port, ['edgetwin/v1/nodes/edge-1/devices/+/+']).start();
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(late.messages.filter((m) => m.topic.startsWith('edgetwin/') && m.payload !== '')).toEqual([]);
    } finally {
      await late.stop();
    }
    const from = sub.mark;
    for (const name of ['t1', 'ghost']) {
      const topic = `edgetwin/v1/nodes/edge-1/devices/default/${name}`;
      await mosquittoPub(broker.port, topic, JSON.stringify({ device: {}, model: {} }), { retain: true });
      await sub.waitFor(topic, (x) => x.payload === '', from);
    }
  });

  it('a reported actual value gets a result, a document and a retained data topic', async () => {
    const from = sub.mark;
    await mosquittoPub(
      broker.port,
      `${hw}/t1/twin/update`,
      JSON.stringify({
        event_id: 'ev-1',
        timestamp: 1,
        twin: { temperature: { actual: { value: '21.5' }, metadata: { type: 'float' } } },
      }),
    );
    const result = await sub.waitFor(`${hw}/t1/twin/update/result`, (x) => x.json().event_id === 'ev-1', from);
    expect(result.json()).not.toHaveProperty('code');
    expect(result.json().twin.temperature.actual.value).toBe('21.5');
    const doc = await sub.waitFor(`${hw}/t1/twin/update/document`, (x) => x.json().event_id === 'ev-1', from);
    expect(doc.json().twin.temperature).toMatchObject({
      current: { actual: { value: '21.5' }, metadata: { type: 'float' } },
    });
    expect(doc.json().twin.temperature.last).toBeUndefined();
    const data = await sub.waitFor('devices/default/t1/temperature', () => true, from);
    expect(data.json()).toMatchObject({ value: 21.5, timestamp: expect.any(Number) });
    // the twin committed it
    expect(fx.twin.getTwin('default/t1')!.reported.temperature?.value).toBe(21.5);
    // result comes before the document
    const idx = (t: string) => sub.messages.findIndex((x, i) => i >= from && x.topic === t);
    expect(idx(`${hw}/t1/twin/update/result`)).toBeLessThan(idx(`${hw}/t1/twin/update/document`));
  });

  it('a burst far above the in-flight limit is answered completely and in order', async () => {
    const from = sub.mark;
    const lines = Array.from({ length: 200 }, (_, i) =>
      JSON.stringify({ event_id: `burst-${i}`, twin: { temperature: { actual: { value: String(i / 10) } } } }),
    );
    await mosquittoPubLines(broker.port, `${hw}/t1/twin/update`, lines);
    await sub.waitFor(`${hw}/t1/twin/update/result`, (x) => x.json().event_id === 'burst-199', from, 25_000);
    const ids = sub
      .on(`${hw}/t1/twin/update/result`)
      .map((x) => x.json().event_id as string)
      .filter((id) => id.startsWith('burst-'));
    expect(ids).toEqual(lines.map((_, i) => `burst-${i}`));
    expect(fx.twin.getTwin('default/t1')!.reported.temperature?.value).toBe(19.9);
  });

  it('honours a property pushMethod.mqtt.topic for its data', async () => {
    const from = sub.mark;
    await mosquittoPub(
      broker.port,
      `${hw}/t2/twin/update`,
      JSON.stringify({ event_id: 'ev-p', twin: { temperature: { actual: { value: '30' } } } }),
    );
    const data = await sub.waitFor('plant/t2/temp', () => true, from);
    expect(data.json().value).toBe(30);
  });

  it('setting desired over HTTP publishes twin/update/delta', async () => {
    const from = sub.mark;
    const res = await app.inject({
      method: 'PATCH',
      url: '/api/v1/devices/default/t1/twin/desired',
      headers: { 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ setpoint: 23, mode: 'eco' }),
    });
    expect(res.statusCode).toBe(200);
    const delta = await sub.waitFor(`${hw}/t1/twin/update/delta`, (x) => x.json().delta?.setpoint === '23', from);
    expect(delta.json().delta).toEqual({ setpoint: '23', mode: 'eco' });
    expect(delta.json().twin.setpoint.expected.value).toBe('23');
  });

  it('an expected value over $hw sets desired (source mqtt) and a matching actual clears the delta', async () => {
    const from = sub.mark;
    await mosquittoPub(
      broker.port,
      `${hw}/t1/twin/update`,
      JSON.stringify({ event_id: 'ev-2', twin: { power: { expected: { value: 'true' } } } }),
    );
    await sub.waitFor(`${hw}/t1/twin/update/result`, (x) => x.json().event_id === 'ev-2', from);
    expect(fx.twin.getTwin('default/t1')!.desired.power).toMatchObject({ value: true, source: 'mqtt' });
    await sub.waitFor(`${hw}/t1/twin/update/delta`, (x) => x.json().delta?.power === 'true', from);
    await mosquittoPub(
      broker.port,
      `${hw}/t1/twin/update`,
      JSON.stringify({
        event_id: 'ev-3',
        twin: {
          power: { actual: { value: 'true' } },
          setpoint: { actual: { value: '23' } },
          mode: { actual: { value: 'eco' } },
        },
      }),
    );
    await sub.waitFor(`${hw}/t1/twin/update/result`, (x) => x.json().event_id === 'ev-3', from);
    expect(fx.twin.getTwin('default/t1')!.delta).toEqual({});
  });

  it('twin/get answers with every property', async () => {
    const from = sub.mark;
    await mosquittoPub(broker.port, `${hw}/t1/twin/get`, JSON.stringify({ event_id: 'get-1' }));
    const res = await sub.waitFor(`${hw}/t1/twin/get/result`, (x) => x.json().event_id === 'get-1', from);
    expect(Object.keys(res.json().twin as object).sort()).toEqual(['mode', 'power', 'setpoint', 'temperature']);
    expect(res.json().twin.setpoint).toMatchObject({
      expected: { value: '23' },
      actual: { value: '23' },
      metadata: { type: 'int' },
    });
  });

  it('a KubeEdge-era single-segment device id maps to the default namespace and is answered on its own topic', async () => {
    const from = sub.mark;
    await mosquittoPub(broker.port, '$hw/events/device/t1/twin/get', JSON.stringify({ event_id: 'legacy-1' }));
    const res = await sub.waitFor(
      '$hw/events/device/t1/twin/get/result',
      (x) => x.json().event_id === 'legacy-1',
      from,
    );
    expect(res.json().twin.setpoint.metadata.type).toBe('int');
  });

  it('membership/get lists the node devices', async () => {
    const from = sub.mark;
    await mosquittoPub(broker.port, '$hw/events/node/edge-1/membership/get', JSON.stringify({ event_id: 'mem-1' }));
    const res = await sub.waitFor(
      '$hw/events/node/edge-1/membership/get/result',
      (x) => x.json().event_id === 'mem-1',
      from,
    );
    expect((res.json().devices as { id: string }[]).map((d) => d.id)).toEqual(['default/t1', 'default/t2']);
  });

  it('state/update answers and publishes the retained state topic', async () => {
    const from = sub.mark;
    await mosquittoPub(broker.port, `${hw}/t2/state/update`, JSON.stringify({ event_id: 'st-1', state: 'online' }));
    const res = await sub.waitFor(`${hw}/t2/state/update/result`, (x) => x.json().event_id === 'st-1', from);
    // KubeEdge's field and format: lastOnlineTime in RFC 3339, whole seconds, UTC
    expect(res.json().device).toMatchObject({ id: 'default/t2', state: 'online' });
    expect(res.json().device.lastOnlineTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Math.abs(Date.parse(res.json().device.lastOnlineTime as string) - Date.now())).toBeLessThan(60_000);
    const state = await sub.waitFor('devices/default/t2/state', (x) => x.json().state === 'online', from);
    expect(state.json().lastOnline).toEqual(expect.any(Number));
  });

  describe("as KubeEdge's edgecore handles what mappers-go's mappers send", () => {
    it('a state in capitals ("OK") is accepted and stored lowercased', async () => {
      const from = sub.mark;
      await mosquittoPub(broker.port, `${hw}/t2/state/update`, JSON.stringify({ event_id: 'st-OK', state: 'OK' }));
      const res = await sub.waitFor(`${hw}/t2/state/update/result`, (x) => x.json().event_id === 'st-OK', from);
      expect(res.json().code).toBeUndefined();
      expect(res.json().device.state).toBe('ok');
      expect(fx.twin.getTwin('default/t2')!.state).toBe('ok');
    });

    it('an empty value "" is a value for a STRING property, and a typed error for a number', async () => {
      const from = sub.mark;
      const update = (id: string, twin: unknown) =>
        mosquittoPub(broker.port, `${hw}/t2/twin/update`, JSON.stringify({ event_id: id, twin }));
      await update('empty-ok', { mode: { actual: { value: '' }, metadata: { type: 'string' } } });
      const ok = await sub.waitFor(`${hw}/t2/twin/update/result`, (x) => x.json().event_id === 'empty-ok', from);
      expect(ok.json().code).toBeUndefined();
      expect(fx.twin.getTwin('default/t2')!.reported.mode?.value).toBe('');
      await update('empty-int', { setpoint: { actual: { value: '' }, metadata: { type: 'int' } } });
      const bad = await sub.waitFor(`${hw}/t2/twin/update/result`, (x) => x.json().event_id === 'empty-int', from);
      expect(bad.json()).toMatchObject({ code: 400, reason: expect.stringMatching(/expected an integer/) });
    });

    it('a null twin deletes the desired value, and the device keeps its reported one', async () => {
      const from = sub.mark;
      await fx.twin.setDesired('default/t2', { mode: 'eco' }, { source: 'http' });
      await mosquittoPub(
        broker.port,
        `${hw}/t2/twin/update`,
        JSON.stringify({ event_id: 'del', twin: { mode: null } }),
      );
      const res = await sub.waitFor(`${hw}/t2/twin/update/result`, (x) => x.json().event_id === 'del', from);
      expect(res.json().code).toBeUndefined();
      const t = fx.twin.getTwin('default/t2')!;
      expect(t.desired.mode).toBeUndefined();
      expect(t.reported.mode?.value).toBe('');
    });

    it('a key the model does not have becomes a twin of its metadata.type, as KubeEdge adds it', async () => {
      const from = sub.mark;
      const update = (id: string, twin: unknown) =>
        mosquittoPub(broker.port, `${hw}/t2/twin/update`, JSON.stringify({ event_id: id, twin }));
      await update('add', {
        humidity: { actual: { value: '41.5' }, metadata: { type: 'float' } },
        note: { expected: { value: 'check-filter' } }, // no type: string, as KubeEdge defaults it
      });
      const res = await sub.waitFor(`${hw}/t2/twin/update/result`, (x) => x.json().event_id === 'add', from);
      expect(res.json().code).toBeUndefined();
      expect(res.json().twin.humidity).toMatchObject({ actual: { value: '41.5' }, metadata: { type: 'float' } });
      const t = fx.twin.getTwin('default/t2')!;
      expect(t.reported.humidity?.value).toBe(41.5);
      expect(t.desired.note?.value).toBe('check-filter');
      // twin/get lists it beside the model's properties
      await mosquittoPub(broker.port, `${hw}/t2/twin/get`, JSON.stringify({ event_id: 'get-adhoc' }));
      const got = await sub.waitFor(`${hw}/t2/twin/get/result`, (x) => x.json().event_id === 'get-adhoc', from);
      expect(Object.keys(got.json().twin as Record<string, unknown>)).toEqual(
        expect.arrayContaining(['humidity', 'note', 'setpoint']),
      );
      // a value that does not fit the type adds nothing; deleting a key nobody has is an error
      await update('add-bad', { pressure: { actual: { value: 'high' }, metadata: { type: 'int' } } });
      const bad = await sub.waitFor(`${hw}/t2/twin/update/result`, (x) => x.json().event_id === 'add-bad', from);
      expect(bad.json()).toMatchObject({ code: 400, reason: expect.stringMatching(/twin pressure: actual value/) });
      await update('del-none', { pressure: null });
      const none = await sub.waitFor(`${hw}/t2/twin/update/result`, (x) => x.json().event_id === 'del-none', from);
      expect(none.json().code).toBe(400);
      expect(fx.twin.getDevice('default/t2')!.properties.some((p) => p.name === 'pressure')).toBe(false);
    });

    it('a reading outside minimum/maximum is kept and flagged out-of-range, never dropped', async () => {
      const from = sub.mark;
      const twin = { temperature: { actual: { value: '130.5' }, metadata: { type: 'float' } } };
      await mosquittoPub(broker.port, `${hw}/t2/twin/update`, JSON.stringify({ event_id: 'hot', twin }));
      const res = await sub.waitFor(`${hw}/t2/twin/update/result`, (x) => x.json().event_id === 'hot', from);
      expect(res.json().code).toBeUndefined();
      expect(fx.twin.getTwin('default/t2')!.reported.temperature).toMatchObject({
        value: 130.5,
        quality: 'out-of-range',
      });
      const data = await sub.waitFor('plant/t2/temp', (x) => x.json().value === 130.5, from);
      expect(data.json().quality).toBe('out-of-range');
    });
  });

  it('malformed JSON and bad values get 400 results, an unknown device 404; nothing crashes', async () => {
    const from = sub.mark;
    const cases: [string, string, number, RegExp][] = [
      [`${hw}/t1/twin/update`, '{not json', 400, /not valid JSON/],
      [
        `${hw}/t1/twin/update`,
        JSON.stringify({ event_id: 'k', twin: { 'bad key!': { actual: { value: '1' } } } }),
        400,
        /twin key/,
      ],
      [
        `${hw}/t1/twin/update`,
        JSON.stringify({ event_id: 'u', twin: { humidity: { actual: { value: 'damp' }, metadata: { type: 'int' } } } }),
        400,
        /twin humidity: actual value/,
      ],
      [
        `${hw}/t1/twin/update`,
        JSON.stringify({ event_id: 'w', twin: { setpoint: { expected: { value: 'warm' } } } }),
        400,
        /expected an integer/,
      ],
      [
        `${hw}/t1/twin/update`,
        JSON.stringify({ event_id: 'r', twin: { setpoint: { expected: { value: '99' } } } }),
        400,
        /above the maximum 30/,
      ],
      [
        `${hw}/t1/twin/update`,
        JSON.stringify({ event_id: 'ro', twin: { temperature: { expected: { value: '1' } } } }),
        400,
        /ReadOnly/,
      ],
      [
        `${hw}/ghost/twin/update`,
        JSON.stringify({ event_id: 'g', twin: { setpoint: { actual: { value: '1' } } } }),
        404,
        /ghost is not on node edge-1/,
      ],
      [`${hw}/t1/state/update`, JSON.stringify({ event_id: 's', state: 'sleepy' }), 400, /not one of/],
      [`${hw}/t1/twin/get`, '[', 400, /not valid JSON/],
    ];
    for (const [topic, payload] of cases) await mosquittoPub(broker.port, topic, payload);
    for (const [topic, , code, reason] of cases) {
      const res = await sub.waitFor(
        `${topic}/result`,
        (x) => x.json().code === code && reason.test(x.json().reason as string),
        from,
      );
      expect(res.json()).toMatchObject({ event_id: expect.any(String), timestamp: expect.any(Number) });
    }
    // the event id is echoed whenever it could be read
    const wrongType = sub
      .on(`${hw}/t1/twin/update/result`)
      .slice(-9)
      .find((x) => /setpoint.*expected an integer/.test(x.payload));
    expect(wrongType?.json().event_id).toBe('w');
    expect(fx.twin.getTwin('default/t1')!.desired.setpoint?.value).toBe(23);
  });

  it('a typed value on the /set data topic sets desired; a bad one is answered on /set/result', async () => {
    const from = sub.mark;
    await mosquittoPub(broker.port, 'devices/default/t2/setpoint/set', '18');
    const ok = await sub.waitFor('devices/default/t2/setpoint/set/result', () => true, from);
    expect(ok.json()).toMatchObject({ code: 200, value: 18 });
    expect(fx.twin.getTwin('default/t2')!.desired.setpoint).toMatchObject({ value: 18, source: 'mqtt' });
    await sub.waitFor(`${hw}/t2/twin/update/delta`, (x) => x.json().delta?.setpoint === '18', from);
    await mosquittoPub(broker.port, 'devices/default/t2/setpoint/set', '"hot"');
    const bad = await sub.waitFor('devices/default/t2/setpoint/set/result', (x) => x.json().code === 400, from);
    expect(bad.json().reason).toMatch(/expected an integer/);
  });

  it("membership changes publish membership/updated and clear a removed device's retained state", async () => {
    const from = sub.mark;
    fx.twin.applyResources(resolveAll(m, [device('t1', { desired: { setpoint: '20' } }), device('t3')]));
    const upd = await sub.waitFor('$hw/events/node/edge-1/membership/updated', () => true, from);
    expect((upd.json().added_devices as { id: string }[]).map((d) => d.id)).toEqual(['default/t3']);
    expect(upd.json().removed_devices).toEqual([{ id: 'default/t2', name: 't2' }]);
    await sub.waitFor('devices/default/t2/state', (x) => x.payload === '', from);
    // the spec desired value of t1 did not change: the desired value set over HTTP stays
    expect(fx.twin.getTwin('default/t1')!.desired.setpoint?.value).toBe(23);
    // a changed spec desired value becomes desired and is sent as a delta
    fx.twin.applyResources(resolveAll(m, [device('t1', { desired: { setpoint: '26' } }), device('t3')]));
    const delta = await sub.waitFor(`${hw}/t1/twin/update/delta`, (x) => x.json().delta?.setpoint === '26', from);
    expect(delta.json().twin.setpoint.expected.value).toBe('26');
    expect(fx.twin.getTwin('default/t1')!.desired.setpoint).toMatchObject({ value: 26, source: 'spec' });
  });
});
