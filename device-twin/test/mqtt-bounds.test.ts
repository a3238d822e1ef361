import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VALUE_LIMITS } from '@edgetwin/sdk';
import { connectMqtt, type MqttConnection } from '@edgetwin/sdk/mqtt';
import { MosquittoSub, missingPeer, startMosquitto, type RunningPeer } from '@edgetwin/sdk/testing';
import { TwinMqttHandler } from '@edgetwin/device-twin';
import { device, logger, model, openTwin, removeDir, resolveAll, type TwinFixture } from './fixtures.js';

const skip = missingPeer('mosquitto', 'mosquitto_sub', 'mosquitto_pub');
const run = promisify(execFile);

describe.skipIf(skip)('MQTT entry points: deep nesting and oversized values get 4xx results, bounded', () => {
  let broker: RunningPeer;
  let fx: TwinFixture;
  let client: MqttConnection;
  let handler: TwinMqttHandler;
  let sub: MosquittoSub;
  let dir: string;
  const hw = '$hw/events/device/default/t1';

  /** mosquitto_pub -f: payloads too large for an argv entry. */
  async function pub(topic: string, payload: string): Promise<void> {
    const file = join(dir, 'payload');
    writeFileSync(file, payload);
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-t', topic, '-f', file]);
  }

  async function result(topic: string, payload: string, eventId?: string) {
    const from = sub.mark;
    await pub(topic, payload);
    const res = await sub.waitFor(
      `${topic}/result`,
      (m) => eventId === undefined || (m.json() as { event_id?: string }).event_id === eventId,
      from,
    );
    return { json: res.json() as { code?: number; reason?: string; event_id?: string }, size: res.payload.length };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgetwin-bounds-'));
    broker = await startMosquitto();
    fx = await openTwin();
    fx.twin.applyResources(resolveAll([model('thermostat')], [device('t1')]));
    client = await connectMqtt({ url: broker.url, clientId: 'edgecore-bounds' });
    handler = new TwinMqttHandler({ twin: fx.twin, client, nodeName: 'edge-1', logger });
    sub = await new MosquittoSub(broker.port, ['$hw/#', 'devices/#']).start();
    await handler.start();
  });

  afterAll(async () => {
    await handler?.stop();
    await client?.end();
    await sub?.stop();
    await fx?.close();
    removeDir(fx?.dir ?? '');
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

  it('twin/update and state/update nested thousands deep get 400 naming the depth limit, not 500', async () => {
    const tu = await result(
      `${hw}/twin/update`,
      `{"event_id":"d1","twin":{"setpoint":{"expected":{"value":${deep(5000)}}}}}`,
    );
    expect(tu.json.code).toBe(400);
    expect(tu.json.reason).toMatch(new RegExp(`${VALUE_LIMITS.maxDepth} levels`));
    const su = await result(`${hw}/state/update`, `{"event_id":"d2","state":${deep(5000)}}`);
    expect(su.json.code).toBe(400);
    expect(su.json.reason).toMatch(/levels deep/);
    // within the depth limit, still a 400 from the schema, not a stack overflow
    const shallow = await result(
      `${hw}/twin/update`,
      `{"event_id":"d3","twin":{"setpoint":{"expected":{"value":${deep(30)}}}}}`,
      'd3',
    );
    expect(shallow.json.code).toBe(400);
  });

  it('/set nested thousands deep gets 400, a STRING over the limit 413 naming it, and the twin keeps its value', async () => {
    const d = await result('devices/default/t1/setpoint/set', deep(5000));
    expect(d.json.code).toBe(400);
    const max = VALUE_LIMITS.maxStringLength;
    const long = await result('devices/default/t1/mode/set', JSON.stringify('x'.repeat(max + 1)));
    expect(long.json.code).toBe(413);
    expect(long.json.reason).toMatch(new RegExp(`at most ${max} characters`));
    expect(long.size).toBeLessThan(1024);
    const ok = await result('devices/default/t1/mode/set', JSON.stringify('y'.repeat(max)));
    expect(ok.json.code).toBe(200);
    expect(fx.twin.getTwin('default/t1')?.desired.mode?.value).toBe('y'.repeat(max));
  });

  it('payloads over the size limit get 413 naming the limit, on $hw and /set, with short answers', async () => {
    const big = 'x'.repeat(VALUE_LIMITS.maxPayloadBytes + 1);
    for (const topic of [`${hw}/twin/update`, `${hw}/state/update`, 'devices/default/t1/mode/set']) {
      const r = await result(topic, JSON.stringify(big));
      expect(r.json.code).toBe(413);
      expect(r.json.reason).toMatch(new RegExp(`limit of ${VALUE_LIMITS.maxPayloadBytes} bytes`));
      expect(r.size).toBeLessThan(1024);
    }
  });

  it('an error result echoes at most a short excerpt of a bad value or key', async () => {
    const key = 'k'.repeat(100_000);
    const r = await result(
      `${hw}/twin/update`,
      JSON.stringify({ event_id: 'e1', twin: { [key]: { actual: { value: '1' } } } }),
      'e1',
    );
    expect(r.json.code).toBe(400);
    expect(r.size).toBeLessThan(1024);
    const v = await result(`${hw}/state/update`, JSON.stringify({ event_id: 'e2', state: 's'.repeat(100_000) }), 'e2');
    expect(v.json.code).toBe(400);
    expect(v.size).toBeLessThan(1024);
  });
});
