/**
 * A node for the MQTT access tests: a Modbus thermostat and an OPC UA pump, edgecore with the
 * identities of both mappers (as it makes them when it starts mappers), and people and apps added
 * with the real `edgetwin users` command. Either on the embedded broker or on Debian's Mosquitto
 * loaded with the files `edgetwin mqtt mosquitto-config` writes.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { edgecorePasswordFile, ensureMapperIdentity } from '@edgetwin/edgecore';
import { startMosquitto, type RunningPeer } from '@edgetwin/sdk/testing';
import { CLI, startEdgecore, tempDir, type EdgecoreProcess } from '../helpers/edgecore-process.js';

const run = promisify(execFile);
const fixture = join(import.meta.dirname, '..', 'fixtures', 'thermostat.yaml');

export interface Creds {
  port: number;
  username: string;
  password: string;
}

export interface SecuredNode {
  edge: EdgecoreProcess;
  mosquitto: RunningPeer | undefined;
  port: number;
  dataDir: string;
  as(user: string): Creds;
  /** Runs `edgetwin ARGS --data-dir DIR` and returns its stdout. */
  cli(...args: string[]): Promise<string>;
  /** Regenerates Mosquitto's files and makes it reread them (no-op on the embedded broker). */
  reloadBroker(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSecuredNode(external: boolean): Promise<SecuredNode> {
  const devicesDir = tempDir('devices');
  const dataDir = tempDir('data');
  copyFileSync(fixture, join(devicesDir, 'thermostat.yaml'));
  writeFileSync(
    join(devicesDir, 'pump.yaml'),
    readFileSync(fixture, 'utf8')
      .replaceAll('thermostat', 'pump')
      .replaceAll('protocol: modbus', 'protocol: opcua')
      .replaceAll('protocolName: modbus', 'protocolName: opcua')
      // configData an OPC UA mapper accepts: edgecore checks it against the opcua mapper's schemas
      .replace(/communicateMode: TCP\n\s+ip: .*\n\s+port: .*\n\s+slaveID: .*/, 'url: opc.tcp://127.0.0.1:4840')
      .replace(/configData: \{ register: [^}]*\}/g, "configData: { nodeID: 'ns=2;s=Pump' }"),
  );
  const passwords = new Map<string, string>();
  for (const protocol of ['modbus', 'opcua', 'zigbee', 'bluetooth']) {
    const c = await ensureMapperIdentity(dataDir, protocol);
    passwords.set(c.username, c.password);
  }
  const cli = async (...args: string[]) =>
    (await run(process.execPath, [CLI, ...args, '--data-dir', dataDir], { timeout: 20_000 })).stdout;
  const addUser = async (name: string, ...flags: string[]) => {
    const file = join(dataDir, `${name}.password`);
    await cli('users', 'add', name, ...flags, '--password-file', file);
    passwords.set(name, readFileSync(file, 'utf8').trim());
  };
  await addUser('reader', '--role', 'app', '--read', 'default/*');
  await addUser('setter', '--role', 'app', '--read', '*/*', '--set', 'default/thermostat-*');
  await addUser('expired', '--role', 'app', '--read', '*/*', '--expires', '2020-01-01T00:00:00Z');
  await addUser('leaver', '--role', 'app', '--read', '*/*');
  await addUser('narrow', '--role', 'app', '--read', 'default/thermostat-*');

  let mosquitto: RunningPeer | undefined;
  const confDir = tempDir('mosquitto-conf'); // outside the 0700 data dir: Mosquitto runs as its own user
  const writeConfig = () =>
    cli('mqtt', 'mosquitto-config', '--devices', devicesDir, '--node-name', 'edge-1', '--out', confDir);
  if (external) {
    await writeConfig();
    mosquitto = await startMosquitto({
      config: `allow_anonymous false\npassword_file ${confDir}/password_file\nacl_file ${confDir}/acl_file\n`,
    });
  }
  // edgecore adds test-admin: make Mosquitto's files include it before they are loaded
  const edge = await startEdgecore({ devicesDir, dataDir, ...(mosquitto ? { mqttUrl: mosquitto.url } : {}) });
  passwords.set('test-admin', edge.mqtt.password);
  passwords.set('edgecore', readFileSync(edgecorePasswordFile(dataDir), 'utf8').trim());
  const port = mosquitto?.port ?? edge.mqttPort;
  const node: SecuredNode = {
    edge,
    mosquitto,
    port,
    dataDir,
    as: (username) => ({ port, username, password: passwords.get(username) ?? 'no-such-password' }),
    cli,
    async reloadBroker() {
      if (!mosquitto) return;
      await writeConfig();
      mosquitto.process.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 500));
    },
    async stop() {
      await edge.kill();
      await mosquitto?.stop();
    },
  };
  await node.reloadBroker(); // test-admin exists only now
  return node;
}
