/**
 * A mapper's configData checked when the devices directory loads: edgecore imports the installed
 * mapper package's `./config` entry (sdk and TypeBox only) and reports a bad protocol or visitor
 * configData as it reports a bad model, with the file, the field and the error code.
 */
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { installedMapperConfigs, loadDeviceDirectory } from '@edgetwin/edgecore';
import { waitFor } from '@edgetwin/sdk/testing';
import { startEdgecore, tempDir, type EdgecoreProcess } from './helpers/edgecore-process.js';

const fixture = join(import.meta.dirname, 'fixtures', 'thermostat.yaml');

/** A Modbus Device of the fixture's thermostat-model with one property and the given configData. */
const device = (name: string, protocol: string, visitor: string) => `apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: { name: ${name}, namespace: default }
spec:
  deviceModelRef: { name: thermostat-model }
  nodeName: edge-1
  protocol: { protocolName: modbus, configData: ${protocol} }
  properties:
    - name: setpoint
      visitors: { protocolName: modbus, configData: ${visitor} }
`;
const GOOD_PROTOCOL = '{ communicateMode: TCP, ip: 127.0.0.1, port: 5020, slaveID: 1 }';
const GOOD_VISITOR = '{ register: HoldingRegister, offset: 0, limit: 1, dataType: int16 }';
const BAD_VISITOR = '{ register: HoldingRegisters, offset: 0 }';

describe('configData checked at load', () => {
  const dirs: string[] = [];
  let core: EdgecoreProcess | undefined;
  afterEach(async () => {
    await core?.kill();
    core = undefined;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  function dirWith(files: Record<string, string>): string {
    const dir = tempDir('configdata');
    dirs.push(dir);
    copyFileSync(fixture, join(dir, 'thermostat.yaml'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  it('a bad Modbus visitor names the file, the field and ET_SCHEMA; the other devices load', async () => {
    const dir = dirWith({
      'bad.yaml': device('bad-register', GOOD_PROTOCOL, BAD_VISITOR),
      'good.yaml': device('good', GOOD_PROTOCOL, GOOD_VISITOR),
    });
    const c = await loadDeviceDirectory(dir, 'edge-1', { configSchemas: installedMapperConfigs() });
    expect(c.devices.map((d) => d.id).sort()).toEqual(['default/good', 'default/thermostat-1']);
    expect(c.problems).toHaveLength(1);
    const e = c.problems[0]!.error;
    expect(e.code).toBe('ET_SCHEMA');
    expect(e.details).toMatchObject({
      file: join(dir, 'bad.yaml'),
      document: 0,
      path: '/spec/properties/0/visitors/configData/register',
      device: 'default/bad-register',
      property: 'setpoint',
    });
    expect(e.message).toContain(`${join(dir, 'bad.yaml')} (document 1): `);
    expect(e.message).toContain('device default/bad-register property setpoint visitor configData: field /register');
  });

  it('a bad protocol configData names the field inside spec.protocol.configData', async () => {
    const dir = dirWith({ 'port.yaml': device('bad-port', '{ ip: 127.0.0.1, port: seventy }', GOOD_VISITOR) });
    const c = await loadDeviceDirectory(dir, 'edge-1', { configSchemas: installedMapperConfigs() });
    expect(c.devices.map((d) => d.id)).toEqual(['default/thermostat-1']);
    const e = c.problems[0]!.error;
    expect(e.code).toBe('ET_SCHEMA');
    expect(e.details).toMatchObject({ file: join(dir, 'port.yaml'), path: '/spec/protocol/configData/port' });
    expect(e.message).toContain('device default/bad-port protocol configData: field /port');
  });

  it('KubeEdge-style strings for numbers pass, and the resolved device keeps its configData as written', async () => {
    const dir = dirWith({
      'strings.yaml': device('strings', '{ ip: 127.0.0.1, port: "5020", slaveID: "1" }', GOOD_VISITOR),
    });
    const c = await loadDeviceDirectory(dir, 'edge-1', { configSchemas: installedMapperConfigs() });
    expect(c.problems).toEqual([]);
    const d = c.devices.find((x) => x.id === 'default/strings')!;
    expect(d.protocolConfig).toEqual({ ip: '127.0.0.1', port: '5020', slaveID: '1' });
    expect(d.protocolData).toMatchObject({ port: 5020, slaveID: 1, communicateMode: 'TCP' });
  });

  it('configData a document does not hold is left to the mapper: a property without visitors loads', async () => {
    const noVisitor = device('twin-only', GOOD_PROTOCOL, GOOD_VISITOR).replace(/\n\s+visitors: .*\n/, '\n');
    const dir = dirWith({ 'twin-only.yaml': noVisitor });
    const c = await loadDeviceDirectory(dir, 'edge-1', { configSchemas: installedMapperConfigs() });
    expect(c.problems).toEqual([]);
    const d = c.devices.find((x) => x.id === 'default/twin-only')!;
    expect(d.properties.map((p) => [p.name, p.visitorData])).toEqual([['setpoint', undefined]]);
    expect(d.protocolData).toMatchObject({ port: 5020 });
  });

  it('a protocol with no EdgeTwin mapper package, or one not installed, loads unchecked and without an error', async () => {
    const other = device('framework', '{ anything: [1, 2] }', '{ whatever: true }').replace(
      /protocolName: modbus/g,
      'protocolName: virtualdevice',
    );
    const dir = dirWith({ 'bad.yaml': device('bad-register', GOOD_PROTOCOL, BAD_VISITOR), 'other.yaml': other });
    const warnings: string[] = [];
    const notInstalled = installedMapperConfigs({
      packages: { modbus: '@edgetwin/mapper-not-installed' },
      warn: (m) => warnings.push(m),
    });
    const c = await loadDeviceDirectory(dir, 'edge-1', { configSchemas: notInstalled });
    expect(c.problems).toEqual([]);
    expect(c.devices.map((d) => d.id).sort()).toEqual([
      'default/bad-register',
      'default/framework',
      'default/thermostat-1',
    ]);
    expect(warnings).toEqual([]);
    expect(await installedMapperConfigs()('virtualdevice')).toBeUndefined();
  });

  it('edgecore reports a bad visitor on /api/v1/node and in its log, and serves the other devices', async () => {
    const dir = dirWith({ 'bad.yaml': device('bad-register', GOOD_PROTOCOL, BAD_VISITOR) });
    core = await startEdgecore({ devicesDir: dir });
    const line = await waitFor(
      () => core!.logEntries().find((l) => l.code === 'ET_SCHEMA'),
      15_000,
      'the configData error in the log',
    );
    expect(line).toMatchObject({
      file: join(dir, 'bad.yaml'),
      path: '/spec/properties/0/visitors/configData/register',
    });
    const node = (await (await fetch(`${core.http}/api/v1/node`)).json()) as {
      problems: Array<{ file: string; path?: string; code: string; message: string }>;
    };
    expect(node.problems).toEqual([
      expect.objectContaining({
        file: join(dir, 'bad.yaml'),
        document: 0,
        path: '/spec/properties/0/visitors/configData/register',
        code: 'ET_SCHEMA',
      }),
    ]);
    expect((await fetch(`${core.http}/api/v1/devices/default/bad-register`)).status).toBe(404);
    expect((await fetch(`${core.http}/api/v1/devices/default/thermostat-1`)).status).toBe(200);
  }, 60_000);
});
