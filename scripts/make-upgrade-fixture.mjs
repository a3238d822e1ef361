#!/usr/bin/env node
/* global fetch, setTimeout */
/**
 * Writes the upgrade fixture: the data directories a release leaves behind, for the tests that
 * check the next release opens them with nothing lost (core/test/upgrade.test.ts).
 *
 *   npm run build && node scripts/make-upgrade-fixture.mjs core/test/fixtures/upgrade-0.1.0
 *
 * Run it on the release being frozen (0.1.0 was made from main at 6ba7f21, before schema
 * versioning). edge-data/edgetwin.db comes from a real run: the Modbus simulator, edgecore and its
 * Modbus mapper, desired values set over HTTP and reported back by the device. The cloud-sync,
 * agent and cloudcore databases are written through their store classes with typical rows.
 * expected.json holds what the files contain, read back with plain SQL.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';

const root = resolve(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? 'core/test/fixtures/upgrade-0.1.0');
if (existsSync(out)) throw new Error(`${out} exists; remove it first`);
const edgeData = join(out, 'edge-data');
const devicesDir = join(out, 'devices');
mkdirSync(devicesDir, { recursive: true });

const freePort = () =>
  new Promise((res, rej) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}
function run(args) {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs = [];
  child.stdout.on('data', (d) => logs.push(String(d)));
  child.stderr.on('data', (d) => logs.push(String(d)));
  child.logs = logs;
  child.done = new Promise((r) => child.once('exit', r));
  return child;
}

const modbusPort = await freePort();
const httpPort = await freePort();
const mqttPort = await freePort();
const yaml = readFileSync(join(root, 'examples/quickstart/devices/thermostat.yaml'), 'utf8')
  .replace('port: 5020', `port: ${modbusPort}`)
  .replace('nodeName: quickstart-node', 'nodeName: edge-1');
writeFileSync(join(devicesDir, 'thermostat.yaml'), yaml);
// A second device on the simulator's slave 2, read-only input registers.
writeFileSync(
  join(devicesDir, 'meter.yaml'),
  `apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: { name: meter-model, namespace: plant }
spec:
  protocol: modbus
  properties:
    - { name: energy, type: INT, accessMode: ReadOnly, unit: Wh }
    - { name: voltage, type: FLOAT, accessMode: ReadOnly, unit: V }
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: { name: meter-1, namespace: plant }
spec:
  deviceModelRef: { name: meter-model }
  nodeName: edge-1
  protocol:
    protocolName: modbus
    configData: { communicateMode: TCP, ip: 127.0.0.1, port: ${modbusPort}, slaveID: 2 }
  properties:
    - name: energy
      visitors: { protocolName: modbus, configData: { register: InputRegister, offset: 0, limit: 2, dataType: uint32 } }
    - name: voltage
      visitors: { protocolName: modbus, configData: { register: InputRegister, offset: 2, limit: 2, dataType: float32 } }
`,
);

const sim = run([
  'mappers/modbus/bin/edgetwin-modbus-sim.js',
  '--config',
  'examples/quickstart/modbus-sim.yaml',
  '--port',
  String(modbusPort),
]);
const edge = run([
  'core/bin/edgetwin.js',
  'edge',
  '--devices',
  devicesDir,
  '--data-dir',
  edgeData,
  '--node-name',
  'edge-1',
  '--http-port',
  String(httpPort),
  '--mqtt-port',
  String(mqttPort),
  '--log-level',
  'warn',
]);
const api = `http://127.0.0.1:${httpPort}/api/v1/devices/default/thermostat-1/twin`;
try {
  await waitFor(async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).ok, 30_000, 'edgecore /readyz');
  await waitFor(
    async () => {
      const t = await (await fetch(api)).json();
      const m = await (await fetch(api.replace('default/thermostat-1', 'plant/meter-1'))).json();
      return (
        t.reported?.temperature !== undefined && t.reported?.heater !== undefined && m.reported?.voltage !== undefined
      );
    },
    30_000,
    'reported values from the Modbus mapper',
  );
  for (const patch of [{ setpoint: 25.5 }, { heater: true }]) {
    const r = await fetch(`${api}/desired?wait=reported&timeout=10000`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify(patch),
    });
    if (r.status !== 200) throw new Error(`PATCH ${JSON.stringify(patch)}: ${r.status} ${await r.text()}`);
  }
} catch (err) {
  console.error(edge.logs.join(''), sim.logs.join(''));
  throw err;
} finally {
  edge.kill('SIGTERM');
  await edge.done;
  sim.kill('SIGTERM');
  await sim.done;
}

// The other stores, through their classes (the same code the daemons run).
const { CloudSyncStore } = await import('@edgetwin/edgecore');
const { AgentStore } = await import('@edgetwin/agent');
const { CloudStateStore } = await import('@edgetwin/cloudcore');
const sync = new CloudSyncStore(edgeData);
sync.setMeta('nodeToken', 'etn.fixture-node-token-not-a-secret');
sync.applySync(
  [
    {
      key: 'Device/default/thermostat-1',
      resourceVersion: '1042',
      object: { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'thermostat-1' } },
    },
  ],
  [],
);
sync.putOutbox([
  {
    key: 'reported/default/thermostat-1/setpoint',
    entry: { kind: 'reported', device: 'default/thermostat-1', property: 'setpoint', value: '25.5', updatedAt: 1 },
  },
]);
sync.close();
mkdirSync(join(edgeData, 'agent'), { recursive: true });
const agent = new AgentStore(join(edgeData, 'agent', 'agent.db'));
agent.savePod({
  key: 'default/hello',
  source: 'static',
  runtime: 'process',
  pod: {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'hello', namespace: 'default' },
    spec: { containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }] },
  },
  specHash: 'fixture',
  sandboxId: 'sandbox-1',
  deletingGraceMs: undefined,
  status: undefined,
});
agent.saveContainer({
  podKey: 'default/hello',
  name: 'main',
  containerId: 'container-1',
  restartCount: 2,
  logPath: undefined,
  lastTerminated: undefined,
});
agent.saveConfigMap('default/settings', { mode: 'eco' });
agent.close();
const cloud = new CloudStateStore(join(out, 'cloud-data'));
const joinToken = cloud.createJoinToken(365 * 24 * 3600_000, Date.parse('2026-12-06T00:00:00Z')).token;
const nodeToken = cloud.registerNode('edge-1', Date.parse('2026-12-06T00:00:00Z'));
cloud.close();

const rows = (file, sql) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
};
const twinDb = join(edgeData, 'edgetwin.db');
const expected = {
  madeBy: 'scripts/make-upgrade-fixture.mjs on EdgeTwin 0.1.0 (main 6ba7f21)',
  twin: {
    resources: rows(twinDb, 'SELECT kind, id FROM resources ORDER BY kind, id'),
    meta: rows(twinDb, 'SELECT * FROM twin_meta ORDER BY id'),
    desired: rows(twinDb, 'SELECT * FROM twin_desired ORDER BY id, prop'),
    reported: rows(twinDb, 'SELECT * FROM twin_reported ORDER BY id, prop'),
    spec: rows(twinDb, 'SELECT * FROM twin_spec ORDER BY id, prop'),
  },
  cloudSync: { nodeToken: 'etn.fixture-node-token-not-a-secret', resources: 1, outbox: 1 },
  agent: { pods: ['default/hello'], restartCount: 2, configMap: { mode: 'eco' } },
  cloud: { joinToken, nodeName: 'edge-1', nodeToken },
};
// Only the databases: the mappers' (empty) state directory and WAL side files are not part of it.
for (const f of ['edgetwin.db-wal', 'edgetwin.db-shm', 'mappers'])
  rmSync(join(edgeData, f), { force: true, recursive: true });
writeFileSync(join(out, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
console.log(`wrote ${out}`);
