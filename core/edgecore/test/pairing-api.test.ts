/**
 * Pairing through edgecore's HTTP API, end to end: a real edgecore process, its supervised zigbee
 * and bluetooth mappers, the ZNP coordinator emulator (the undeclared plug joins when joining is
 * permitted) and the BLE mapper's simulated peripherals (the thermometer advertises but is not
 * configured). Also: the bounds of N, the token scopes, and 503 when no mapper of the protocol runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@edgetwin/sdk/testing';
import { startEdgecore } from './helpers/edgecore-process.js';
import {
  BLE_SENSOR,
  BLE_THERMOMETER,
  PLUG_IEEE,
  SENSOR_IEEE,
  readEvents,
  startPairingNode,
  type PairingNode,
} from './helpers/pairing-node.js';

interface Problem {
  status: number;
  code: string;
  detail: string;
}

describe('pairing over the HTTP API', () => {
  let node: PairingNode;
  const url = (path: string) => `${node.edge.http}/api/v1${path}`;
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(url(path), {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      json: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
    };
  };

  beforeAll(async () => {
    node = await startPairingNode();
    // The mappers are up and the zigbee coordinator is formed once the declared devices have sessions.
    const running = async () =>
      ((await call('GET', '/node', node.tokens.read)).json.mappers as { state: string }[]).filter(
        (m) => m.state === 'running',
      ).length;
    await waitFor(async () => (await running()) === 2, 60_000, 'both mappers running').catch(async (err: unknown) => {
      const status = JSON.stringify((await call('GET', '/node', node.tokens.read)).json);
      throw new Error(`${(err as Error).message}: ${status}\n${node.edge.logs.slice(-30).join('\n')}`);
    });
  }, 180_000);
  afterAll(async () => node?.stop());

  it('a duration outside 1-254 s is a 400 problem that says so', async () => {
    for (const seconds of [0, 255, 1.5, 'ten']) {
      const r = await call('POST', '/pairing/zigbee/permit-join', node.tokens.admin, { seconds });
      expect(r.status).toBe(400);
      expect(r.type).toContain('application/problem+json');
      expect(r.json.code).toBe('ET_SCHEMA');
      expect(String(r.json.detail)).toMatch(/seconds/);
    }
    const ble = await call('POST', '/pairing/bluetooth/scan', node.tokens.admin, { seconds: 121 });
    expect(ble.status).toBe(400);
    expect(String(ble.json.detail)).toMatch(/seconds must be <= 120/);
  });

  it('the OpenAPI document lists the pairing routes with their bounds and errors', async () => {
    const doc = (await call('GET', '/openapi.json', node.tokens.read)).json as {
      paths: Record<string, Record<string, { description?: string; requestBody?: unknown; responses: object }>>;
    };
    const permit = doc.paths['/api/v1/pairing/zigbee/permit-join'];
    expect(Object.keys(permit ?? {}).sort()).toEqual(['delete', 'post']);
    expect(permit?.post?.description).toMatch(/admin scope.*503 ET_UNAVAILABLE/);
    expect(JSON.stringify(permit?.post?.requestBody)).toContain('"maximum":254');
    expect(Object.keys(permit?.post?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '503', '504']));
    expect(JSON.stringify(doc.paths['/api/v1/pairing/bluetooth/scan']?.post?.requestBody)).toContain('"maximum":120');
    expect(doc.paths['/api/v1/pairing/events']?.get).toBeDefined();
  });

  it('starting a pairing needs the admin scope; a read token reads the events', async () => {
    for (const token of [node.tokens.read, node.tokens.write]) {
      const r = await call('POST', '/pairing/zigbee/permit-join', token, { seconds: 10 });
      expect(r.status).toBe(403);
      expect(r.json.code).toBe('ET_FORBIDDEN');
      expect(String(r.json.detail)).toMatch(/needs admin/);
      expect((await call('DELETE', '/pairing/bluetooth/scan', token)).status).toBe(403);
    }
    expect((await call('POST', '/pairing/zigbee/permit-join', 'et_000000000000_nope', { seconds: 10 })).status).toBe(
      401,
    );
    const state = await call('GET', '/pairing', node.tokens.read);
    expect(state.status).toBe(200);
    expect(state.json).toMatchObject({ windows: [] });
  });

  it('permit-join opens the network; the undeclared plug joins and is interviewed, live on the events stream', async () => {
    // The coordinator starts with the declared sensor's session; until then the mapper refuses (409).
    await waitFor(
      async () =>
        (await call('POST', '/pairing/zigbee/permit-join', node.tokens.admin, { seconds: 60 })).status === 200,
      60_000,
      'the zigbee mapper to open joining',
    );
    // What happened before the stream opened comes in its first event (`state`), the rest live.
    const all = (ev: { event: string; data: Record<string, unknown> }[]) => [
      ...((ev[0]?.data.events ?? []) as Record<string, unknown>[]),
      ...ev.slice(1).map((e) => e.data),
    ];
    const stream = await readEvents(
      url('/pairing/events'),
      node.tokens.read,
      (ev) =>
        [PLUG_IEEE, SENSOR_IEEE].every((ieee) =>
          all(ev).some((e) => e.type === 'zigbee-device' && e.ieeeAddress === ieee && e.status === 'successful'),
        ),
      60_000,
    );
    expect(stream[0]?.event).toBe('state');
    expect(stream[0]?.data.windows).toMatchObject([{ protocol: 'zigbee', seconds: 60 }]);
    const events = all(stream);
    expect(events.filter((e) => e.type === 'window')).toMatchObject([{ protocol: 'zigbee', seconds: 60 }]);
    const plug = events.filter((e) => e.ieeeAddress === PLUG_IEEE);
    expect(plug.map((p) => p.status)).toContain('joined');
    expect(plug.at(-1)).toMatchObject({
      status: 'successful',
      modelId: 'EdgeTwin-PLUG-1',
      coordinator: node.emulator.url,
    });
    expect(plug.at(-1)?.manufacturerName).toEqual(expect.any(String));
    expect(plug.at(-1)?.device).toBeUndefined(); // nothing declares it
    // The declared sensor joined in the same window and is named with its Device.
    const sensor = events.find((e) => e.type === 'zigbee-device' && e.status === 'successful' && e.device);
    expect(sensor?.device).toBe('default/th-sensor');

    const closed = await readEvents(
      url('/pairing/events'),
      node.tokens.read,
      (ev) => ev.some((e) => e.event === 'window-end'),
      20_000,
      async () => {
        const r = await call('DELETE', '/pairing/zigbee/permit-join', node.tokens.admin);
        expect(r.status).toBe(204);
      },
    );
    expect(closed.at(-1)?.data).toMatchObject({ protocol: 'zigbee', reason: 'stopped' });
    expect(node.emulator.permitJoinUntil).toBe(0);
  });

  it('a BLE scan reports the unconfigured thermometer once per address while the configured sensor keeps reporting', async () => {
    const twin = async () =>
      (await call('GET', '/devices/default/ble-env-sensor-1/twin', node.tokens.read)).json as {
        state: string;
        reported: Record<string, { updatedAt: number }>;
      };
    await waitFor(async () => (await twin()).state === 'online', 60_000, 'the BLE sensor online');
    const before = (await twin()).reported.temperature?.updatedAt ?? 0;
    // The window is long and is closed 3 s after the thermometer's first advertisement: on a
    // loaded machine the scan may take seconds to start, and a fixed short window then saw nothing.
    // 3 s is inside the 5 s after which an unchanged advertisement would be reported again.
    let stopping: Promise<unknown> | undefined;
    const events = await readEvents(
      url('/pairing/events'),
      node.tokens.read,
      (ev) => {
        if (!stopping && ev.some((e) => e.event === 'ble-advertisement' && e.data.address === BLE_THERMOMETER)) {
          stopping = new Promise((r) => setTimeout(r, 3000)).then(() =>
            call('DELETE', '/pairing/bluetooth/scan', node.tokens.admin),
          );
        }
        return ev.some((e) => e.event === 'window-end' && e.data.protocol === 'bluetooth');
      },
      90_000,
      async () => {
        const r = await call('POST', '/pairing/bluetooth/scan', node.tokens.admin, { seconds: 60 });
        expect(r.status).toBe(200);
        expect(r.json).toMatchObject({ protocol: 'bluetooth', seconds: 60 });
      },
    );
    expect(stopping).toBeDefined();
    expect(((await stopping) as { status: number }).status).toBe(204);
    const ads = events.filter((e) => e.event === 'ble-advertisement').map((e) => e.data);
    const thermometer = ads.filter((a) => a.address === BLE_THERMOMETER);
    // The simulator advertises every 100 ms; unchanged advertisements repeat at most every 5 s.
    expect(thermometer).toHaveLength(1);
    expect(thermometer[0]).toMatchObject({
      name: 'EdgeTwin Thermometer',
      rssi: -60,
      serviceUuids: ['f000aa0004514000b000000000000000'],
    });
    expect(thermometer[0]?.device).toBeUndefined();
    // The configured sensor is connected: it does not advertise, and its link was not dropped.
    expect(ads.some((a) => a.address === BLE_SENSOR)).toBe(false);
    const seen = new Set(ads.map((a) => a.address)).size;
    expect(events.at(-1)?.data).toMatchObject({ protocol: 'bluetooth', reason: 'stopped', seen, dropped: 0 });
    const after = await twin();
    expect(after.state).toBe('online');
    expect(after.reported.temperature?.updatedAt ?? 0).toBeGreaterThan(before);
  });
});

describe('pairing without the protocol’s mapper', () => {
  it('is a 503 problem naming the missing mapper', async () => {
    const edge = await startEdgecore({ mappers: true });
    try {
      const res = await fetch(`${edge.http}/api/v1/pairing/zigbee/permit-join`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ seconds: 30 }),
      });
      const p = (await res.json()) as Problem;
      expect(res.status).toBe(503);
      expect(p.code).toBe('ET_UNAVAILABLE');
      expect(p.detail).toBe('no zigbee mapper runs on node edge-1: no Device of this node uses protocol zigbee');
    } finally {
      await edge.kill();
    }
  });
});
