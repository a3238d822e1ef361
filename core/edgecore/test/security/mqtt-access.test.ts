/**
 * The edge broker is closed: anonymous and bad credentials are refused, a mapper reports only for
 * its own protocol's devices and cannot forge specs or desired values, an app only reads or sets
 * what its identity allows. Each case runs against the embedded broker and against Debian's
 * Mosquitto loaded with the password_file and acl_file that `edgetwin mqtt mosquitto-config` wrote,
 * with Debian's mosquitto_sub and mosquitto_pub as the clients.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MosquittoSub, missingPeer, mosquittoPub, waitFor, brokerArgs } from '@edgetwin/sdk/testing';
import { startSecuredNode, type Creds, type SecuredNode } from './mqtt-fixture.js';

const run = promisify(execFile);
const skip = missingPeer('mosquitto', 'mosquitto_sub', 'mosquitto_pub');
const THERMO = 'default/thermostat-1';
const PUMP = 'default/pump-1';
const MAPPER_PROBE = 'edgetwin/v1/nodes/edge-1/modbus/probe';
const spec = (id: string) => `edgetwin/v1/nodes/edge-1/devices/${id}`;

/** Connects, subscribes and waits up to 2 s; resolves with how the client ended. */
async function connect(target: Creds | number): Promise<{ ok: boolean; stderr: string }> {
  try {
    await run('mosquitto_sub', [...brokerArgs(target), '-t', 'apps/none', '-W', '2'], { timeout: 10_000 });
    return { ok: true, stderr: '' };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    // -W timing out (exit 27) means it was connected and subscribed the whole time.
    return { ok: e.code === 27, stderr: e.stderr ?? '' };
  }
}

/** Publishes and ignores a failure: the broker may close the connection of a client that breaks its ACL. */
const tryPub = (target: Creds, topic: string, payload: string, retain = false) =>
  mosquittoPub(target, topic, payload, { retain }).catch(() => undefined);

const report = (value: string, id: string) =>
  JSON.stringify({ event_id: id, timestamp: Date.now(), twin: { temperature: { actual: { value } } } });

describe.each([
  { broker: 'the embedded broker', external: false },
  { broker: 'Mosquitto with the generated password_file and acl_file', external: true },
])('MQTT access on $broker', ({ external }) => {
  let node: SecuredNode;
  const twin = async (id: string) =>
    (await (await fetch(`${node.edge.http}/api/v1/devices/${id}/twin`)).json()) as {
      reported: Record<string, { value: unknown }>;
      desired: Record<string, { value: unknown }>;
    };

  beforeAll(async () => {
    if (!skip) node = await startSecuredNode(external);
  });
  afterAll(async () => node?.stop());

  it.skipIf(skip)('an anonymous client is refused', async () => {
    const r = await connect(node.port);
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(/not authori[sz]ed/i);
  });

  it.skipIf(skip)('a wrong password and an expired identity are refused; the right password gets in', async () => {
    expect((await connect({ ...node.as('reader'), password: 'wrong-password' })).ok).toBe(false);
    expect((await connect(node.as('expired'))).ok).toBe(false);
    expect((await connect(node.as('reader'))).ok).toBe(true);
  });

  it.skipIf(skip)('a mapper reports for its own protocol’s device but not for another protocol’s', async () => {
    const modbus = node.as('mapper-modbus');
    await tryPub(modbus, `$hw/events/device/${PUMP}/twin/update`, report('66.6', 'forged'));
    await tryPub(modbus, `$hw/events/device/${THERMO}/twin/update`, report('21.5', 'own'));
    await waitFor(async () => (await twin(THERMO)).reported.temperature?.value === 21.5, 10_000, 'own report');
    expect((await twin(PUMP)).reported.temperature).toBeUndefined();
  });

  it.skipIf(skip)('no identity but edgecore reads spec topics (mappers get their specs over DMI)', async () => {
    const sub = await MosquittoSub.startProbing(node.as('test-admin'), 'apps/probe', spec('+/+'));
    try {
      await new Promise((r) => setTimeout(r, 500));
      // retained specs would have arrived with the subscription
      expect(sub.messages.filter((m) => m.topic.startsWith('edgetwin/v1/nodes/edge-1/devices/'))).toEqual([]);
    } finally {
      await sub.stop();
    }
  });

  it.skipIf(skip)('a forged spec or desired value never reaches a mapper, from a mapper or an admin', async () => {
    const sub = await MosquittoSub.startProbing(
      node.as('mapper-modbus'),
      MAPPER_PROBE,
      spec(THERMO),
      '$hw/events/device/+/+/twin/update/delta',
    );
    try {
      const mark = sub.mark;
      const forged = JSON.stringify({ device: { metadata: { name: 'thermostat-1' } }, model: {}, port: 1 });
      for (const who of ['mapper-opcua', 'mapper-modbus', 'setter', 'test-admin']) {
        await tryPub(node.as(who), spec(THERMO), forged, true);
        await tryPub(node.as(who), `$hw/events/device/${THERMO}/twin/update/delta`, '{"delta":{"setpoint":"30"}}');
      }
      await tryPub(node.as('mapper-modbus'), `devices/${THERMO}/setpoint/set`, '30');
      await new Promise((r) => setTimeout(r, 1000));
      // (a late subscription probe may still arrive: only specs and deltas count)
      expect(sub.messages.slice(mark).filter((m) => !m.topic.startsWith(MAPPER_PROBE))).toEqual([]);
      expect((await twin(THERMO)).desired.setpoint?.value).toBe(21);
      // nothing forged was kept: a new subscriber finds no retained spec
      const fresh = await MosquittoSub.startProbing(node.as('test-admin'), 'apps/probe2', spec(THERMO));
      try {
        await new Promise((r) => setTimeout(r, 500));
        expect(fresh.on(spec(THERMO)).filter((m) => m.payload !== '')).toEqual([]);
      } finally {
        await fresh.stop();
      }
    } finally {
      await sub.stop();
    }
  });

  it.skipIf(skip)('an app sets only what its identity allows; a read-only app cannot set at all', async () => {
    await tryPub(node.as('reader'), `devices/${THERMO}/setpoint/set`, '33');
    await tryPub(node.as('setter'), `devices/${PUMP}/setpoint/set`, '34');
    await tryPub(node.as('setter'), `devices/${THERMO}/power/set`, 'true');
    await waitFor(async () => (await twin(THERMO)).desired.power?.value === true, 10_000, 'the allowed set');
    expect((await twin(THERMO)).desired.setpoint?.value).toBe(21);
    expect((await twin(PUMP)).desired.setpoint?.value).toBe(21);
  });

  it.skipIf(skip)('an app reads the devices its identity names and not the others', async () => {
    const sub = await MosquittoSub.start(node.as('narrow'), 'devices/#');
    try {
      await sub.waitFor(`devices/${THERMO}/state`);
      await new Promise((r) => setTimeout(r, 500));
      expect(sub.messages.filter((m) => m.topic.includes('pump-1'))).toEqual([]);
    } finally {
      await sub.stop();
    }
    const all = await MosquittoSub.start(node.as('reader'), 'devices/#');
    try {
      await all.waitFor(`devices/${PUMP}/state`);
    } finally {
      await all.stop();
    }
  });

  it.skipIf(skip)(
    'only edgecore asks a mapper to pair; only the protocol’s own mapper publishes pairing results',
    async () => {
      const Z = 'edgetwin/v1/nodes/edge-1/zigbee';
      const B = 'edgetwin/v1/nodes/edge-1/bluetooth';
      const watcher = await MosquittoSub.start(node.as('test-admin'), `${Z}/#`, `${B}/#`);
      const zigbeeMapper = await MosquittoSub.startProbingOn(
        node.as('mapper-zigbee'),
        `${Z}/joined`,
        `${Z}/permit_join`,
      );
      const bleMapper = await MosquittoSub.startProbingOn(
        node.as('mapper-bluetooth'),
        `${B}/scan/advertisement`,
        `${B}/scan`,
      );
      try {
        const mark = watcher.mark;
        const forged = [
          // commands: not from a mapper (its own protocol's or another's), an admin or an app
          ...['mapper-zigbee', 'mapper-bluetooth', 'test-admin', 'setter'].flatMap((who) => [
            [who, `${Z}/permit_join`, '{"seconds":254,"id":"forged"}'],
            [who, `${B}/scan`, '{"seconds":120,"id":"forged"}'],
          ]),
          // results and events: not from another protocol's mapper, an admin or an app
          ...['mapper-bluetooth', 'mapper-modbus', 'test-admin', 'setter'].flatMap((who) => [
            [who, `${Z}/joined`, '{"ieeeAddress":"0xforged"}'],
            [who, `${Z}/permit_join/result`, '{"ok":true,"id":"forged"}'],
          ]),
          ...['mapper-zigbee', 'mapper-opcua', 'test-admin', 'setter'].flatMap((who) => [
            [who, `${B}/scan/advertisement`, '{"address":"forged"}'],
            [who, `${B}/scan/result`, '{"ok":true,"id":"forged"}'],
          ]),
        ];
        for (const [who, topic, payload] of forged) await tryPub(node.as(who!), topic!, payload!);
        // What is allowed arrives: edgecore's commands at the protocol's mapper, each mapper's own results.
        await mosquittoPub(node.as('edgecore'), `${Z}/permit_join`, '{"seconds":30,"id":"real"}');
        await mosquittoPub(node.as('edgecore'), `${B}/scan`, '{"seconds":5,"id":"real"}');
        await mosquittoPub(node.as('mapper-zigbee'), `${Z}/joined`, '{"ieeeAddress":"0xreal"}');
        await mosquittoPub(node.as('mapper-bluetooth'), `${B}/scan/advertisement`, '{"address":"real"}');
        await zigbeeMapper.waitFor(`${Z}/permit_join`, (m) => m.payload.includes('"real"'));
        await bleMapper.waitFor(`${B}/scan`, (m) => m.payload.includes('"real"'));
        await watcher.waitFor(`${Z}/joined`, (m) => m.payload.includes('real'), mark);
        await watcher.waitFor(`${B}/scan/advertisement`, (m) => m.payload.includes('real'), mark);
        await new Promise((r) => setTimeout(r, 500));
        expect(watcher.messages.slice(mark).filter((m) => m.payload.includes('forged'))).toEqual([]);
        // A mapper does not hear another protocol's commands.
        expect(zigbeeMapper.messages.filter((m) => m.topic.startsWith(B))).toEqual([]);
        expect(bleMapper.messages.filter((m) => m.topic.startsWith(Z))).toEqual([]);
      } finally {
        await Promise.all([watcher.stop(), zigbeeMapper.stop(), bleMapper.stop()]);
      }
    },
  );

  it.skipIf(skip)('a removed identity is refused from then on', async () => {
    expect((await connect(node.as('leaver'))).ok).toBe(true);
    await node.cli('users', 'remove', 'leaver');
    await node.reloadBroker();
    await waitFor(async () => !(await connect(node.as('leaver'))).ok, 10_000, 'the removed user to be refused');
  });
});
