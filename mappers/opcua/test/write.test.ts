/**
 * Writes with the node's real DataType against node-opcua's server: every scalar type round-trips,
 * out-of-range values are refused before they reach the wire, and server refusals name the node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PropertyType, TwinValue } from '@edgetwin/sdk';
import type { DeviceSession } from '@edgetwin/sdk/mapper';
import { createOpcuaDriver, type OpcuaVisitorConfig } from '@edgetwin/mapper-opcua';
import { plantNodes, startOpcuaSimulator, type OpcuaSimulator, type TypedVariable } from '@edgetwin/mapper-opcua/sim';
import { context, device, prop, Recorder, signal, tempDir } from './helpers.js';

let sim: OpcuaSimulator;
let session: DeviceSession<OpcuaVisitorConfig>;
const driver = createOpcuaDriver(context(tempDir('write')));

const cases: [TypedVariable, PropertyType, TwinValue][] = [
  ['Boolean', 'BOOLEAN', true],
  ['SByte', 'INT', -100],
  ['Byte', 'INT', 200],
  ['Int16', 'INT', -32768],
  ['UInt16', 'INT', 65535],
  ['Int32', 'INT', -2147483648],
  ['UInt32', 'INT', 4294967295],
  ['Int64', 'INT', -9007199254740991],
  ['UInt64', 'INT', 9007199254740991],
  ['Float', 'FLOAT', 1.5],
  ['Double', 'DOUBLE', 3.141592653589793],
  ['String', 'STRING', 'hello plant'],
];
const props = cases.map(([t, type]) => prop(t, type, { nodeID: plantNodes.typed(t) }));
const byName = (n: string) => props.find((p) => p.name === n)!;

beforeAll(async () => {
  sim = await startOpcuaSimulator();
  session = await driver.connect(
    device({ url: sim.url }, [
      ...props,
      prop('temperature', 'DOUBLE', { nodeID: plantNodes.temperature }),
      prop('declared', 'INT', { nodeID: plantNodes.typed('Int16'), dataType: 'Int16' }),
    ]),
    new Recorder(),
    signal(),
  );
});
afterAll(async () => {
  await session?.close();
  await driver.stop();
  await sim?.stop();
});

describe('typed writes', { timeout: 60_000 }, () => {
  for (const [t, , value] of cases) {
    it(`a desired ${JSON.stringify(value)} is written as ${t} and reads back the same`, async () => {
      const back = await session.write(byName(t), value, signal());
      expect(back?.value).toBe(value);
      const read = (await session.read!([byName(t)], signal())).get(t);
      expect(read).toMatchObject({ value });
    });
  }

  it('a value outside the node type range is refused before writing, naming the node', async () => {
    await session.write(byName('Int16'), 7, signal());
    await expect(session.write(byName('Int16'), 40000, signal())).rejects.toMatchObject({
      code: 'ET_BAD_VALUE',
      message: expect.stringContaining('ns=2;s=Plant.Types.Int16') as unknown,
    });
    await expect(session.write(byName('UInt32'), -1, signal())).rejects.toMatchObject({ code: 'ET_BAD_VALUE' });
    expect((await session.read!([byName('Int16')], signal())).get('Int16')).toMatchObject({ value: 7 });
  });

  it('a numeric string is written as a number to a Float node', async () => {
    const back = await session.write(byName('Float'), '2.5', signal());
    expect(back?.value).toBe(2.5);
  });

  it('a write the server refuses fails with the StatusCode and the node id', async () => {
    const err = await session
      .write(prop('temperature', 'DOUBLE', { nodeID: plantNodes.temperature }), 99, signal())
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({
      code: 'ET_PROTOCOL',
      details: { status: 'BadNotWritable', nodeId: plantNodes.temperature },
    });
    expect((err as Error).message).toContain(plantNodes.temperature);
    expect((err as Error).message).toContain('BadNotWritable');
  });

  it('a dataType given in the visitor is used for the write', async () => {
    const back = await session.write(
      prop('declared', 'INT', { nodeID: plantNodes.typed('Int16'), dataType: 'Int16' }),
      -12,
      signal(),
    );
    expect(back?.value).toBe(-12);
  });
});
