/**
 * edgecore as a process: durability across kill -9, the watched devices directory, bad files,
 * and clean shutdown on SIGTERM.
 */
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { MosquittoSub, missingPeer, waitFor } from '@edgetwin/sdk/testing';
import { startEdgecore, tempDir, type EdgecoreProcess } from './helpers/edgecore-process.js';

const fixture = join(import.meta.dirname, 'fixtures', 'thermostat.yaml');
const skip = missingPeer('mosquitto_sub');
const running: EdgecoreProcess[] = [];

async function start(opts: Parameters<typeof startEdgecore>[0]): Promise<EdgecoreProcess> {
  const e = await startEdgecore(opts);
  running.push(e);
  return e;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.kill('SIGKILL')));
});

function manyDevices(n: number): string {
  const docs = [readFileSync(fixture, 'utf8').split('\n---\n')[0]!];
  for (let i = 0; i < n; i++) {
    docs.push(`apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: { name: dev-${i}, namespace: default }
spec:
  deviceModelRef: { name: thermostat-model }
  protocol: { protocolName: modbus }
  properties: [{ name: temperature }, { name: setpoint }]`);
  }
  return docs.join('\n---\n');
}

async function twin(edge: EdgecoreProcess, id: string) {
  const r = await fetch(`${edge.http}/api/v1/devices/${id}/twin`);
  return {
    status: r.status,
    body: (await r.json()) as {
      reported: Record<string, { value: unknown }>;
      desired: Record<string, { value: unknown }>;
    },
  };
}

describe('edgecore durability', () => {
  it('an edgecore killed with SIGKILL right after acknowledging N updates comes back with all N', async () => {
    const N = 200;
    const devicesDir = tempDir('devices');
    writeFileSync(join(devicesDir, 'many.yaml'), manyDevices(N));
    const edge = await start({ devicesDir });
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${edge.mqttPort}`, {
      username: edge.mqtt.username,
      password: edge.mqtt.password,
    });
    const acked = new Set<string>();
    client.on('message', (_topic, payload) => {
      const r = JSON.parse(payload.toString()) as { event_id: string; code?: number };
      if (r.code === undefined) acked.add(r.event_id);
    });
    await client.subscribeAsync('$hw/events/device/+/+/twin/update/result', { qos: 1 });
    for (let i = 0; i < N; i++) {
      // Two updates per device; the second (acknowledged last) must be what survives.
      for (const v of [i, i + 1000]) {
        client.publish(
          `$hw/events/device/default/dev-${i}/twin/update`,
          JSON.stringify({
            event_id: `e${i}-${v}`,
            timestamp: Date.now(),
            twin: { temperature: { actual: { value: `${v}.5` } } },
          }),
          { qos: 1 },
        );
      }
    }
    await waitFor(() => acked.size === 2 * N, 30_000, `${2 * N} acknowledgements (have ${acked.size})`);
    const { signal } = await edge.kill('SIGKILL');
    expect(signal).toBe('SIGKILL');
    await client.endAsync(true);

    const again = await start({ devicesDir, dataDir: edge.dataDir });
    for (let i = 0; i < N; i++) {
      const t = await twin(again, `default/dev-${i}`);
      expect(t.body.reported.temperature?.value).toBe(i + 1000 + 0.5);
    }
  });

  it('a desired value acknowledged over HTTP survives SIGKILL', async () => {
    const devicesDir = tempDir('devices');
    copyFileSync(fixture, join(devicesDir, 'thermostat.yaml'));
    const edge = await start({ devicesDir });
    const res = await fetch(`${edge.http}/api/v1/devices/default/thermostat-1/twin/desired`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ setpoint: 30 }),
    });
    expect(res.status).toBe(200);
    await edge.kill('SIGKILL');
    const again = await start({ devicesDir, dataDir: edge.dataDir });
    expect((await twin(again, 'default/thermostat-1')).body.desired.setpoint?.value).toBe(30);
  });
});

describe('the watched devices directory', () => {
  it.skipIf(skip)('adding, editing and deleting files updates the twins and publishes membership/updated', async () => {
    const devicesDir = tempDir('devices');
    const edge = await start({ devicesDir });
    const sub = await MosquittoSub.start(
      edge.mqtt,
      '$hw/events/node/edge-1/membership/updated',
      '$hw/events/device/+/+/twin/update/delta',
    );
    try {
      copyFileSync(fixture, join(devicesDir, 'thermostat.yaml'));
      const added = await sub.waitFor('$hw/events/node/edge-1/membership/updated', (m) =>
        m.payload.includes('thermostat-1'),
      );
      expect(JSON.stringify((added.json() as { added_devices: unknown }).added_devices)).toContain('thermostat-1');
      expect((await twin(edge, 'default/thermostat-1')).body.desired.setpoint?.value).toBe(21);

      // Editing the spec's desired value makes it the new desired value.
      writeFileSync(
        join(devicesDir, 'thermostat.yaml'),
        readFileSync(fixture, 'utf8').replace(/value: ["']21["']/, 'value: "23"'),
      );
      await waitFor(
        async () => (await twin(edge, 'default/thermostat-1')).body.desired.setpoint?.value === 23,
        10_000,
        'desired 23',
      );
      await sub.waitFor('$hw/events/device/default/thermostat-1/twin/update/delta', (m) => m.payload.includes('"23"'));

      rmSync(join(devicesDir, 'thermostat.yaml'));
      const removed = await sub.waitFor(
        '$hw/events/node/edge-1/membership/updated',
        (m) => m.payload.includes('removed_devices') && !m.payload.includes('"removed_devices":[]'),
      );
      expect(JSON.stringify((removed.json() as { removed_devices: unknown }).removed_devices)).toContain(
        'thermostat-1',
      );
      await waitFor(
        async () => (await twin(edge, 'default/thermostat-1')).status === 404,
        10_000,
        'the device to be gone',
      );
    } finally {
      await sub.stop();
    }
  });

  it('a bad file added at run time is reported by name and loses nothing else; the daemon keeps running', async () => {
    const devicesDir = tempDir('devices');
    copyFileSync(fixture, join(devicesDir, 'thermostat.yaml'));
    const edge = await start({ devicesDir });
    writeFileSync(
      join(devicesDir, 'broken.yaml'),
      'apiVersion: devices.kubeedge.io/v1beta1\nkind: Device\nmetadata: [\n',
    );
    await waitFor(
      () => edge.logs.some((l) => l.includes('broken.yaml (document 1): YAML syntax error')),
      10_000,
      'the error log line',
    );
    expect(edge.child.exitCode).toBeNull();
    expect((await twin(edge, 'default/thermostat-1')).status).toBe(200);
    const health = await fetch(`${edge.http}/healthz`);
    expect(health.status).toBe(200);
  });
});

describe('shutdown', () => {
  it('SIGTERM stops edgecore cleanly: exit code 0 and the data is there on the next start', async () => {
    const devicesDir = tempDir('devices');
    copyFileSync(fixture, join(devicesDir, 'thermostat.yaml'));
    const edge = await start({ devicesDir });
    await fetch(`${edge.http}/api/v1/devices/default/thermostat-1/twin/desired`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ setpoint: 19 }),
    });
    const { code } = await edge.kill('SIGTERM');
    expect(code).toBe(0);
    expect(edge.logs.some((l) => l.includes('edgecore stopped'))).toBe(true);
    const again = await start({ devicesDir, dataDir: edge.dataDir });
    expect((await twin(again, 'default/thermostat-1')).body.desired.setpoint?.value).toBe(19);
  });

  it('--help documents every flag', async () => {
    const { execFileSync } = await import('node:child_process');
    const { CLI } = await import('./helpers/edgecore-process.js');
    const out = execFileSync(process.execPath, [CLI, 'edge', '--help'], { encoding: 'utf8' });
    for (const flag of [
      '--devices',
      '--data-dir',
      '--node-name',
      '--mqtt-port',
      '--mqtt-url',
      '--http-port',
      '--no-mappers',
    ]) {
      expect(out).toContain(flag);
    }
  });
});
