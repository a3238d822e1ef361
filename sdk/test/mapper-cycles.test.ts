import { afterEach, describe, expect, it } from 'vitest';
import { runMapper, type MapperHandle } from '@edgetwin/sdk/mapper';
import { DmiSide, FakeClock, captureLogs, waitFor } from '@edgetwin/sdk/testing';
import { MemoryDevice, memoryMapper, memorySpec } from './helpers/memory-mapper.js';

describe('mapper runtime cycles (fake clock)', () => {
  let twin: DmiSide;
  let handle: MapperHandle | undefined;
  let node = 0;
  afterEach(async () => {
    await handle?.stop();
    handle = undefined;
    await twin?.stop();
  });

  async function start(devices: Map<string, MemoryDevice>, clock: FakeClock) {
    const nodeName = `cycles-${++node}`;
    twin = await DmiSide.start({ nodeName });
    const logs = captureLogs();
    handle = await runMapper(
      memoryMapper(devices, () => clock),
      {
        dmiSocket: twin.socketPath,
        nodeName,
        clock,
        logger: logs.logger,
        backoff: { initialMs: 1000, factor: 2, maxMs: 8000, jitter: 0 },
      },
    );
    return { nodeName, logs };
  }

  it('reads same-cycle properties in one call each collectCycle and reports only changes, coalesced, each reportCycle', async () => {
    const clock = new FakeClock();
    const dev = new MemoryDevice({ temp: 10, hum: 50 });
    const { nodeName } = await start(new Map([['m1', dev]]), clock);
    const ref = { namespace: 'default', name: 'boiler' };
    const spec = memorySpec('boiler', 'm1', nodeName, [
      { name: 'temp', collectCycle: 1000, reportCycle: 5000 },
      { name: 'hum', collectCycle: 1000, reportCycle: 5000 },
    ]);
    await twin.publishSpec(spec.device, spec.model);
    await waitFor(() => dev.readCalls.length === 1, 20_000, 'the first read');
    expect(dev.readCalls[0]).toEqual(['temp', 'hum']);
    await waitFor(() => twin.states(ref).includes('online'), 20_000, 'state online');

    for (const v of [11, 12, 13, 14]) {
      dev.set('temp', v);
      await clock.advanceAsync(1000);
    }
    expect(dev.readCalls).toHaveLength(5);
    expect(twin.updates(ref)).toEqual([]); // nothing before the first report cycle
    dev.set('temp', 15);
    await clock.advanceAsync(1000); // t=5000: the report (of the t=4000 read) fires before the read
    await waitFor(() => twin.updates(ref).length === 1, 20_000, 'the first report');
    expect(twin.updates(ref)[0]).toEqual({ temp: '14', hum: '50' });

    dev.set('hum', 55); // temp stays 15
    await clock.advanceAsync(5000); // t=10000
    await waitFor(() => twin.updates(ref).length === 2, 20_000, 'the second report');
    expect(twin.updates(ref)[1]).toEqual({ temp: '15', hum: '55' });

    dev.set('hum', 60); // temp unchanged since the last report: not sent again
    await clock.advanceAsync(5000); // t=15000
    await waitFor(() => twin.updates(ref).length === 3, 20_000, 'the third report');
    expect(twin.updates(ref)[2]).toEqual({ hum: '60' });
    expect(dev.readCalls).toHaveLength(16);
    expect(dev.readCalls.every((c) => c.length === 2)).toBe(true);
  }, 60_000);

  it('retries a device that refuses connections with growing delays while other devices keep working', async () => {
    const clock = new FakeClock();
    const dead = new MemoryDevice({ v: 1 });
    dead.failConnects = 3;
    const alive = new MemoryDevice({ v: 7 });
    const { nodeName, logs } = await start(
      new Map([
        ['dead', dead],
        ['alive', alive],
      ]),
      clock,
    );
    const t0 = clock.now();
    const a = memorySpec('alive', 'alive', nodeName, [{ name: 'v', reportCycle: 1000 }]);
    const d = memorySpec('dead', 'dead', nodeName, [{ name: 'v', reportCycle: 1000 }]);
    await twin.publishSpec(a.device, a.model);
    await twin.publishSpec(d.device, d.model);
    const deadRef = { namespace: 'default', name: 'dead' };
    const aliveRef = { namespace: 'default', name: 'alive' };
    await waitFor(() => dead.connectAttempts.length === 1 && alive.readCalls.length === 1, 20_000, 'first attempts');
    await waitFor(() => twin.lastState(deadRef) === 'offline', 20_000, 'dead device offline');
    expect(logs.find('cannot connect to device default/dead', 'retrying in 1000 ms')).toHaveLength(1);

    await clock.advanceAsync(1000);
    await waitFor(() => twin.reported(aliveRef, 'v') === '7', 20_000, 'the alive device reported');
    expect(twin.lastState(aliveRef)).toBe('online');
    for (let i = 0; i < 6; i++) await clock.advanceAsync(1000);
    expect(dead.connectAttempts.map((t) => t - t0)).toEqual([0, 1000, 3000, 7000]);
    await waitFor(() => twin.lastState(deadRef) === 'online', 20_000, 'dead device online at last');
  }, 60_000);

  it('a read failing the same way every cycle is logged once, then counted once a minute, and summed up on recovery', async () => {
    const clock = new FakeClock();
    const dev = new MemoryDevice({ v: 1, bad: 2 });
    dev.failing.add('bad');
    const { nodeName, logs } = await start(new Map([['m', dev]]), clock);
    const spec = memorySpec('meter', 'm', nodeName, [
      { name: 'v', collectCycle: 1000 },
      { name: 'bad', collectCycle: 1000 },
    ]);
    await twin.publishSpec(spec.device, spec.model);
    const failed = () => logs.find('read of device default/meter property bad failed').filter((r) => r.level === 40);
    await waitFor(() => failed().length === 1, 20_000, 'the first failure logged');
    // 59 more cycles within the minute: 60 failed reads, one line.
    for (let i = 0; i < 59; i++) await clock.advanceAsync(1000);
    await waitFor(() => dev.readCalls.length >= 60, 20_000, 'sixty read cycles');
    expect(failed()).toHaveLength(1);
    await clock.advanceAsync(1000);
    await waitFor(
      () => logs.find(/property bad failed.*\(repeated \d+ times in the last 60 s\)/).length === 1,
      20_000,
      'the count after a minute',
    );
    expect(failed()).toHaveLength(2);
    const before = dev.readCalls.length;
    for (let i = 0; i < 3; i++) await clock.advanceAsync(1000);
    await waitFor(() => dev.readCalls.length >= before + 3, 20_000, 'three more failed reads');
    expect(failed()).toHaveLength(2);
    dev.failing.clear();
    await clock.advanceAsync(1000);
    await waitFor(
      () => logs.find(/property bad failed.*more times, not logged/).length === 1,
      20_000,
      'the summary on recovery',
    );
    // A new failure after recovery is logged at once again.
    dev.failing.add('bad');
    await waitFor(
      async () => {
        await clock.advanceAsync(1000);
        return failed().length === 3;
      },
      20_000,
      'the next failure logged at once',
    );
  }, 60_000);
});
