/** examples/plant.yaml is valid and every node it names exists on the simulator. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DeviceModelSchema, DeviceSchema, parseWithSchema } from '@edgetwin/sdk';
import { toMapperDevice } from '@edgetwin/sdk/mapper';
import {
  createOpcuaDriver,
  defaultPkiDir,
  opcuaMapper,
  resolveSecurity as opcuaSecurity,
} from '@edgetwin/mapper-opcua';
import { startOpcuaSimulator, type OpcuaSimulator } from '@edgetwin/mapper-opcua/sim';
import { context, Recorder, signal, tempDir, trustServer } from './helpers.js';

const file = fileURLToPath(new URL('../examples/plant.yaml', import.meta.url));
let sim: OpcuaSimulator;

beforeAll(async () => {
  sim = await startOpcuaSimulator();
});
afterAll(async () => {
  await sim?.stop();
});

describe('examples/plant.yaml', () => {
  it('is a valid DeviceModel and Device whose properties all read from the simulator', async () => {
    const [modelDoc, deviceDoc] = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as unknown);
    const model = parseWithSchema(DeviceModelSchema, modelDoc, file);
    const device = parseWithSchema(DeviceSchema, deviceDoc, file);
    const mapperDevice = toMapperDevice(opcuaMapper, { device, model });
    expect(mapperDevice.protocol.url).toBe('opc.tcp://127.0.0.1:4840/edgetwin-sim');
    expect(opcuaSecurity(mapperDevice.id, mapperDevice.protocol)).toEqual({
      mode: 'SignAndEncrypt',
      policy: 'Basic256Sha256',
    });

    const dataDir = tempDir('example');
    await trustServer(sim, defaultPkiDir(dataDir));
    const driver = createOpcuaDriver(context(dataDir));
    const session = await driver.connect(
      { ...mapperDevice, protocol: { ...mapperDevice.protocol, url: sim.url } },
      new Recorder(),
      signal(),
    );
    const values = await session.read!(mapperDevice.properties, signal());
    for (const p of mapperDevice.properties) expect(values.get(p.name), p.name).not.toBeInstanceOf(Error);
    await session.close();
    await driver.stop();
  });
});
