import { afterEach, describe, expect, it } from 'vitest';
import { runMapper, type MapperHandle } from '@edgetwin/sdk/mapper';
import { systemClock } from '@edgetwin/sdk/util';
import { DmiSide, captureLogs, waitFor } from '@edgetwin/sdk/testing';
import { MemoryDevice, memoryMapper, memorySpec } from './helpers/memory-mapper.js';

const T = 20_000;

describe('mapper runtime (DMI over unix sockets, real time)', () => {
  let twin: DmiSide | undefined;
  let handle: MapperHandle | undefined;
  let node = 0;

  afterEach(async () => {
    await handle?.stop();
    handle = undefined;
    await twin?.stop();
    twin = undefined;
  });

  async function start(devices: Map<string, MemoryDevice>) {
    const nodeName = `rt-${++node}`;
    twin = await DmiSide.start({ nodeName });
    const logs = captureLogs();
    handle = await runMapper(
      memoryMapper(devices, () => systemClock),
      {
        dmiSocket: twin.socketPath,
        nodeName,
        logger: logs.logger,
        backoff: { initialMs: 100, maxMs: 500 },
        dmiBackoff: { initialMs: 100, maxMs: 500 },
      },
    );
    return { nodeName, logs, twin };
  }

  it('applies spec changes live: a changed spec reconnects, a removed device stops, a new one starts', async () => {
    const a = new MemoryDevice({ v: 1 });
    const b = new MemoryDevice({ v: 2 });
    const c = new MemoryDevice({ v: 3 });
    const { nodeName, twin } = await start(
      new Map([
        ['a', a],
        ['b', b],
        ['c', c],
      ]),
    );
    const ref = { namespace: 'default', name: 'meter' };
    const first = memorySpec('meter', 'a', nodeName, [{ name: 'v', collectCycle: 100 }]);
    await twin.publishSpec(first.device, first.model);
    await waitFor(() => twin.reported(ref, 'v') === '1', T, 'meter reading device a');

    const moved = memorySpec('meter', 'b', nodeName, [{ name: 'v', collectCycle: 100 }]);
    await twin.publishSpec(moved.device, moved.model);
    await waitFor(() => twin.reported(ref, 'v') === '2', T, 'meter reading device b');
    await waitFor(() => a.openSessions === 0, T, 'the session to a closed');
    expect(b.openSessions).toBe(1);

    await twin.removeSpec(ref);
    await waitFor(() => b.openSessions === 0, T, 'the session to b closed');
    expect(handle!.devices().map((d) => d.id)).not.toContain('default/meter');

    const fresh = memorySpec('gauge', 'c', nodeName, [{ name: 'v', collectCycle: 100 }]);
    await twin.publishSpec(fresh.device, fresh.model);
    await waitFor(() => twin.reported({ namespace: 'default', name: 'gauge' }, 'v') === '3', T, 'gauge reported');
    expect(handle!.devices()).toEqual([{ id: 'default/gauge', state: 'online' }]);
  }, 60_000);

  it('GetDevice answers with the device as the mapper holds it and the twins it last reported', async () => {
    const dev = new MemoryDevice({ v: 7 });
    const { nodeName, twin } = await start(new Map([['d', dev]]));
    const ref = { namespace: 'default', name: 'asked' };
    const spec = memorySpec('asked', 'd', nodeName, [{ name: 'v', collectCycle: 100 }]);
    await twin.publishSpec(spec.device, spec.model);
    await waitFor(() => twin.reported(ref, 'v') === '7', T, 'first report');
    const res = (await twin.getDevice(ref)) as {
      device: { name: string; status: { twins: { propertyName: string; reported: { value: string } }[] } };
    };
    expect(res.device.name).toBe('asked');
    expect(res.device.status.twins).toEqual([
      expect.objectContaining({ propertyName: 'v', reported: expect.objectContaining({ value: '7' }) as unknown }),
    ]);
    await expect(twin.getDevice({ namespace: 'default', name: 'nope' })).rejects.toThrow(/not served/);
  }, 60_000);

  it('a session that reports itself lost goes offline and is reconnected', async () => {
    const dev = new MemoryDevice({ v: 1 });
    const { nodeName, twin, logs } = await start(new Map([['d', dev]]));
    const ref = { namespace: 'default', name: 'flaky' };
    const spec = memorySpec('flaky', 'd', nodeName, [{ name: 'v', collectCycle: 100 }]);
    await twin.publishSpec(spec.device, spec.model);
    await waitFor(() => twin.lastState(ref) === 'online', T, 'online');
    dev.drop();
    await waitFor(() => twin.states(ref).includes('offline'), T, 'offline after the drop');
    await waitFor(() => twin.lastState(ref) === 'online' && dev.connectAttempts.length === 2, T, 'online again');
    expect(dev.openSessions).toBe(1);
    expect(
      logs.find('lost device default/flaky', 'memory device dropped the connection', 'reconnecting in'),
    ).toHaveLength(1);
  }, 60_000);

  it('a failing read marks the device unhealthy with a log naming device, property and error; recovery brings it online', async () => {
    const dev = new MemoryDevice({ good: 1, bad: 2 });
    dev.failing.add('bad');
    const { nodeName, twin, logs } = await start(new Map([['d', dev]]));
    const ref = { namespace: 'default', name: 'sick' };
    const spec = memorySpec('sick', 'd', nodeName, [
      { name: 'good', collectCycle: 100 },
      { name: 'bad', collectCycle: 100 },
    ]);
    await twin.publishSpec(spec.device, spec.model);
    await waitFor(() => twin.lastState(ref) === 'unhealthy', T, 'unhealthy');
    await waitFor(() => twin.reported(ref, 'good') === '1', T, 'the good property still reported');
    expect(logs.find('read of device default/sick property bad failed', 'key bad is broken')[0]?.level).toBe(40);
    expect(handle!.devices()[0]).toMatchObject({
      state: 'unhealthy',
      error: expect.stringContaining('bad') as unknown,
    });
    dev.failing.clear();
    await waitFor(() => twin.lastState(ref) === 'online', T, 'online after recovery');
    await waitFor(() => twin.reported(ref, 'bad') === '2', T, 'the healed property reported');
  }, 60_000);

  it('a device whose reads hang times out and turns unhealthy while another device keeps reporting', async () => {
    const slow = new MemoryDevice({ v: 1 });
    slow.hanging.add('v');
    const fast = new MemoryDevice({ v: 1 });
    const nodeName = `rt-${++node}`;
    twin = await DmiSide.start({ nodeName });
    const logs = captureLogs();
    const devices = new Map([
      ['slow', slow],
      ['fast', fast],
    ]);
    handle = await runMapper(
      memoryMapper(devices, () => systemClock),
      {
        dmiSocket: twin.socketPath,
        nodeName,
        logger: logs.logger,
        callTimeoutMs: 300,
      },
    );
    const s = memorySpec('slow', 'slow', nodeName, [{ name: 'v', collectCycle: 100 }]);
    const f = memorySpec('fast', 'fast', nodeName, [{ name: 'v', collectCycle: 100 }]);
    await twin.publishSpec(s.device, s.model);
    await twin.publishSpec(f.device, f.model);
    const fastRef = { namespace: 'default', name: 'fast' };
    for (const v of [2, 3, 4]) {
      fast.set('v', v);
      await waitFor(() => twin!.reported(fastRef, 'v') === String(v), T, `fast device reporting ${v}`);
    }
    await waitFor(() => twin!.lastState({ namespace: 'default', name: 'slow' }) === 'unhealthy', T, 'slow unhealthy');
    expect(
      logs.find('read of device default/slow property v failed', 'did not finish within 300 ms').length,
    ).toBeGreaterThan(0);
  }, 60_000);

  it('pushed properties are reported without polling; the rest are polled', async () => {
    const dev = new MemoryDevice({ polled: 1, pushed: 10 });
    dev.pushes.add('pushed');
    const { nodeName, twin } = await start(new Map([['d', dev]]));
    const ref = { namespace: 'default', name: 'pusher' };
    const spec = memorySpec('pusher', 'd', nodeName, [
      { name: 'polled', collectCycle: 100 },
      { name: 'pushed', collectCycle: 100 },
    ]);
    await twin.publishSpec(spec.device, spec.model);
    await waitFor(() => twin.reported(ref, 'polled') === '1', T, 'polled value');
    dev.set('pushed', 11);
    await waitFor(() => twin.reported(ref, 'pushed') === '11', T, 'pushed value');
    expect(dev.readCalls.every((c) => c.join() === 'polled')).toBe(true);
    // A protocol status travels with the value, and a change of quality alone is reported too.
    dev.set('pushed', 11, 'UncertainSensorNotAccurate');
    await waitFor(() => twin.quality(ref, 'pushed') === 'UncertainSensorNotAccurate', T, 'the quality');
    dev.set('pushed', 11);
    await waitFor(() => twin.quality(ref, 'pushed') === undefined, T, 'good quality again');
  }, 60_000);

  it('desired values: out-of-range is refused, set ones are applied at start, deltas are written and read back', async () => {
    const dev = new MemoryDevice({ sp: 20 });
    const { nodeName, twin, logs } = await start(new Map([['d', dev]]));
    const ref = { namespace: 'default', name: 'thermo' };
    const spec = memorySpec('thermo', 'd', nodeName, [{ name: 'sp', minimum: 5, maximum: 30, collectCycle: 200 }]);
    spec.device.spec.properties[0]!.desired = { value: '25' }; // already desired before the mapper runs
    await twin.publishSpec(spec.device, spec.model);
    await waitFor(() => twin.reported(ref, 'sp') === '25', T, 'the desired value applied at start');
    expect(dev.writes).toEqual([{ key: 'sp', value: 25 }]);

    const statesBefore = twin.states(ref).length;
    await twin.setDesired(ref, 'sp', '99');
    await waitFor(
      () =>
        logs.find('refused desired value "99" for device default/thermo property sp', 'above the maximum 30').length,
      T,
      'refusal',
    );
    await waitFor(() => twin.states(ref).slice(statesBefore).includes('unhealthy'), T, 'unhealthy note');
    expect(dev.values.get('sp')).toBe(25);

    await twin.setDesired(ref, 'sp', '12');
    await waitFor(() => twin.reported(ref, 'sp') === '12', T, 'the new value read back');
    await waitFor(() => twin.lastState(ref) === 'online', T, 'online again after a good read');
    expect(dev.writes.at(-1)).toEqual({ key: 'sp', value: 12 });
  }, 60_000);

  it('registers again after edgecore restarts, and keeps reporting and taking desired values', async () => {
    const dev = new MemoryDevice({ sp: 1 });
    const { nodeName, twin } = await start(new Map([['d', dev]]));
    const ref = { namespace: 'default', name: 'survivor' };
    const spec = memorySpec('survivor', 'd', nodeName, [{ name: 'sp', collectCycle: 100 }]);
    await twin.publishSpec(spec.device, spec.model);
    await waitFor(() => twin.reported(ref, 'sp') === '1', T, 'first report');
    expect(twin.registrations).toBe(1);

    await twin.restart();
    await waitFor(() => twin.registrations === 2, T, 'the mapper to register again');
    dev.set('sp', 2);
    await waitFor(() => twin.reported(ref, 'sp') === '2', T, 'a report after the restart');
    await twin.setDesired(ref, 'sp', '3'); // UpdateDevice on the mapper's socket again
    await waitFor(() => twin.reported(ref, 'sp') === '3' && dev.values.get('sp') === 3, T, 'desired after the restart');
    expect(dev.connectAttempts).toHaveLength(1); // the same spec again: the device session was kept
  }, 60_000);

  it('typed values the $hw MQTT value pattern forbids reach the twin over DMI (a STRING with a space, non-ASCII)', async () => {
    const dev = new MemoryDevice({ label: 'a b' });
    const { nodeName, twin, logs } = await start(new Map([['d', dev]]));
    const ref = { namespace: 'default', name: 'texts' };
    const spec = memorySpec('texts', 'd', nodeName, [{ name: 'label', type: 'STRING', collectCycle: 100 }]);
    await twin.publishSpec(spec.device, spec.model);
    await waitFor(() => twin.reported(ref, 'label') === 'a b', T, 'the STRING "a b"');
    dev.set('label', 'Grüße, 温度 25 °C');
    await waitFor(() => twin.reported(ref, 'label') === 'Grüße, 温度 25 °C', T, 'non-ASCII text');
    expect(twin.rejected).toEqual([]);
    expect(logs.find('cannot travel')).toEqual([]);
  }, 60_000);

  it('an invalid spec message is refused with a clear error and marks the device unhealthy', async () => {
    const dev = new MemoryDevice({ v: 1 });
    const { nodeName, twin, logs } = await start(new Map([['d', dev]]));
    const spec = memorySpec('odd', 'd', nodeName, [{ name: 'v' }]);
    spec.device.spec.protocol!.configData = { device: 42 };
    await twin.publishSpec(spec.device, spec.model);
    const line = await waitFor(
      () => logs.find('device default/odd protocol configData', 'field /device')[0],
      T,
      'the error',
    );
    expect(line.level).toBe(50);
    await waitFor(() => twin.lastState({ namespace: 'default', name: 'odd' }) === 'unhealthy', T, 'unhealthy');
    expect(dev.connectAttempts).toEqual([]);
  }, 60_000);
});
