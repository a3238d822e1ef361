/**
 * Collecting values from node-opcua's server: one subscription per device, monitored items with
 * sampling from collectCycle and deadbands, polling as a fallback, StatusCode as quality and
 * SourceTimestamp as source time, node ids and browse paths, and a wrong node id.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@edgetwin/sdk/testing';
import type { DeviceSession } from '@edgetwin/sdk/mapper';
import { createOpcuaDriver, type OpcuaVisitorConfig } from '@edgetwin/mapper-opcua';
import { plantNodes, startOpcuaSimulator, type OpcuaSimulator } from '@edgetwin/mapper-opcua/sim';
import { context, device, prop, Recorder, signal, tempDir } from './helpers.js';

let sim: OpcuaSimulator;
const dataDir = tempDir('collect');
const driver = createOpcuaDriver(context(dataDir));
let session: DeviceSession<OpcuaVisitorConfig> | undefined;

beforeAll(async () => {
  sim = await startOpcuaSimulator({ tickMs: 100 });
});
afterEach(async () => {
  await session?.close();
  session = undefined;
  sim.plant.setLevelStatus('Good');
  sim.plant.state.pumpOn = false;
});
afterAll(async () => {
  await driver.stop();
  await sim?.stop();
});

describe('subscription', { timeout: 60_000 }, () => {
  it('pushes tank level changes with the server source time, all properties in one subscription', async () => {
    const rec = new Recorder();
    const props = [
      prop('level', 'DOUBLE', { nodeID: plantNodes.tankLevel }, { readOnly: true }),
      prop('temperature', 'DOUBLE', { nodeID: plantNodes.temperature }, { readOnly: true, collectCycle: 200 }),
      prop('pump', 'BOOLEAN', { nodeID: plantNodes.pumpOn }),
    ];
    const before = sim.subscriptionCount();
    session = await driver.connect(device({ url: sim.url }, props), rec, signal());
    expect(await session.subscribe!(props, signal())).toEqual([]);
    expect(sim.subscriptionCount()).toBe(before + 1);
    const first = await rec.next('level');
    const later = await rec.next('level', 20_000, (r) => r.value !== first.value);
    expect(typeof later.value).toBe('number');
    expect(later.sourceTime).toBeGreaterThan(Date.now() - 60_000);
    expect(later.sourceTime).toBeGreaterThanOrEqual(first.sourceTime!);
    expect(later.quality).toBeUndefined();
    await rec.next('temperature');
    expect((await rec.first('pump')).value).toBe(false);
  });

  it('an absolute deadband drops changes smaller than the deadband', async () => {
    const rec = new Recorder();
    // The level moves 0.05 per 100 ms tick; a deadband of 0.3 lets only every ~6th change through.
    const props = [
      prop('level', 'DOUBLE', { nodeID: plantNodes.tankLevel, deadbandType: 'Absolute', deadbandValue: 0.3 }),
    ];
    session = await driver.connect(device({ url: sim.url }, props), rec, signal());
    await session.subscribe!(props, signal());
    await waitFor(() => rec.of('level').length >= 3, 20_000, 'three level values');
    const values = rec.of('level').map((r) => r.value as number);
    for (let i = 1; i < values.length; i++) expect(Math.abs(values[i]! - values[i - 1]!)).toBeGreaterThan(0.3);
  });

  it('a percent deadband uses the EURange of the analog item', async () => {
    const rec = new Recorder();
    // EURange 0..100: 0.4 % is 0.4 of level.
    const props = [
      prop('level', 'DOUBLE', { nodeID: plantNodes.tankLevel, deadbandType: 'Percent', deadbandValue: 0.4 }),
    ];
    session = await driver.connect(device({ url: sim.url }, props), rec, signal());
    expect(await session.subscribe!(props, signal())).toEqual([]);
    await waitFor(() => rec.of('level').length >= 2, 20_000, 'two level values');
    const values = rec.of('level').map((r) => r.value as number);
    for (let i = 1; i < values.length; i++) expect(Math.abs(values[i]! - values[i - 1]!)).toBeGreaterThan(0.4);
  });

  it('a percent deadband on a node without EURange falls back to polling', async () => {
    const rec = new Recorder();
    const props = [prop('pump', 'BOOLEAN', { nodeID: plantNodes.pumpOn, deadbandType: 'Percent', deadbandValue: 5 })];
    session = await driver.connect(device({ url: sim.url }, props), rec, signal());
    expect(await session.subscribe!(props, signal())).toEqual(['pump']);
    expect((await session.read!(props, signal())).get('pump')).toMatchObject({ value: false });
  });

  it('the StatusCode travels as quality', async () => {
    const rec = new Recorder();
    const props = [prop('level', 'DOUBLE', { nodeID: plantNodes.tankLevel })];
    session = await driver.connect(device({ url: sim.url }, props), rec, signal());
    await session.subscribe!(props, signal());
    await rec.next('level');
    sim.plant.setLevelStatus('UncertainSensorNotAccurate');
    const r = await rec.next('level', 20_000, (x) => x.quality !== undefined);
    expect(r.quality).toBe('UncertainSensorNotAccurate');
    expect(typeof r.value).toBe('number');
    const polled = (await session.read!(props, signal())).get('level');
    expect(polled).toMatchObject({ quality: 'UncertainSensorNotAccurate' });
  });
});

describe('polling', { timeout: 60_000 }, () => {
  it('a property with collect: poll is left to the runtime and read in one batch with the others', async () => {
    const rec = new Recorder();
    const props = [
      prop('level', 'DOUBLE', { nodeID: plantNodes.tankLevel, collect: 'poll' }),
      prop('setpoint', 'FLOAT', { nodeID: plantNodes.setpoint, collect: 'poll' }),
      prop('pump', 'BOOLEAN', { nodeID: plantNodes.pumpOn }),
    ];
    session = await driver.connect(device({ url: sim.url }, props), rec, signal());
    expect((await session.subscribe!(props, signal())).sort()).toEqual(['level', 'setpoint']);
    const values = await session.read!(props, signal());
    expect(values.get('setpoint')).toMatchObject({ value: 21.5 });
    expect(typeof (values.get('level') as { value: unknown }).value).toBe('number');
    expect((values.get('level') as { sourceTime?: number }).sourceTime).toBeGreaterThan(0);
    expect(values.get('pump')).toMatchObject({ value: false });
  });

  it('a failed sensor keeps its Bad StatusCode as quality on a polled read', async () => {
    const props = [prop('level', 'DOUBLE', { nodeID: plantNodes.tankLevel, collect: 'poll' })];
    session = await driver.connect(device({ url: sim.url }, props), new Recorder(), signal());
    sim.plant.setLevelStatus('BadSensorFailure');
    const r = (await session.read!(props, signal())).get('level');
    expect(r).toMatchObject({ quality: 'BadSensorFailure' });
  });
});

describe('addressing', { timeout: 60_000 }, () => {
  it('a browse path finds the node, and its DataType comes from the server', async () => {
    const props = [prop('setpoint', 'FLOAT', { browsePath: '/Objects/2:Plant/2:Heater/2:Setpoint' })];
    session = await driver.connect(device({ url: sim.url }, props), new Recorder(), signal());
    const back = await session.write(props[0]!, 23.25, signal());
    expect(back?.value).toBe(23.25);
    await session.write(props[0]!, 21.5, signal());
  });

  it('a wrong node id is a clear error naming the node and the status, and the other properties still work', async () => {
    const rec = new Recorder();
    const props = [
      prop('ghost', 'INT', { nodeID: 'ns=2;s=Plant.NoSuchNode' }),
      prop('pump', 'BOOLEAN', { nodeID: plantNodes.pumpOn }),
    ];
    session = await driver.connect(device({ url: sim.url }, props), rec, signal());
    expect(await session.subscribe!(props, signal())).toEqual(['ghost']);
    const values = await session.read!(props, signal());
    const err = values.get('ghost');
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({
      code: 'ET_PROTOCOL',
      details: { status: 'BadNodeIdUnknown', nodeId: 'ns=2;s=Plant.NoSuchNode' },
    });
    expect((err as Error).message).toContain('ns=2;s=Plant.NoSuchNode');
    expect((err as Error).message).toContain('check nodeID');
    expect(values.get('pump')).toMatchObject({ value: false });
    await expect(session.write(props[0]!, 1, signal())).rejects.toMatchObject({ code: 'ET_PROTOCOL' });
  });

  it('a node id that cannot be parsed is a config error with an example', async () => {
    const props = [prop('bad', 'INT', { nodeID: 'ns=two;q=x' })];
    session = await driver.connect(device({ url: sim.url }, props), new Recorder(), signal());
    const err = (await session.read!(props, signal())).get('bad');
    expect(err).toMatchObject({ code: 'ET_CONFIG_INVALID' });
    expect((err as Error).message).toContain('ns=2;s=');
  });
});
