import { afterEach, describe, expect, it } from 'vitest';
import { isEdgeTwinError } from '@edgetwin/sdk';
import type { MembershipChange, TwinChangeEvent } from '@edgetwin/device-twin';
import { device, model, openTwin, removeDir, resolveAll, type TwinFixture } from './fixtures.js';

let fx: TwinFixture | undefined;
afterEach(async () => {
  await fx?.close();
  if (fx) removeDir(fx.dir);
  fx = undefined;
});

async function withDevices(...names: string[]): Promise<TwinFixture> {
  fx = await openTwin();
  fx.twin.applyResources(
    resolveAll(
      [model('thermostat')],
      names.map((n) => device(n)),
    ),
  );
  return fx;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('twin engine rules', () => {
  it('compares desired and reported by type: "21", 21 and 21.0 make no delta', async () => {
    const { twin } = await withDevices('t1');
    await twin.setDesired('default/t1', { setpoint: 21, mode: 'eco' }, { source: 'http' });
    let snap = await twin.report('default/t1', { setpoint: { value: '21' } });
    expect(snap.delta).toEqual({ mode: 'eco' });
    expect(snap.reported.setpoint?.value).toBe(21);
    snap = await twin.report('default/t1', { mode: { value: 'comfort' } });
    expect(snap.delta).toEqual({ mode: 'eco' });
    snap = await twin.report('default/t1', { mode: { value: 'eco' }, setpoint: { value: 21.0 } });
    expect(snap.delta).toEqual({});
  });

  it('counts desiredVersion and reportedVersion once per accepted change', async () => {
    const { twin } = await withDevices('t1');
    let snap = await twin.setDesired('default/t1', { setpoint: 20, power: true }, { source: 'http' });
    expect(snap.desiredVersion).toBe(1);
    expect(snap.desired.setpoint).toMatchObject({ value: 20, version: 1, source: 'http' });
    snap = await twin.setDesired('default/t1', { setpoint: 22 }, { source: 'mqtt' });
    expect(snap.desiredVersion).toBe(2);
    expect(snap.desired.power?.version).toBe(1);
    // the same value again is accepted without a new version
    snap = await twin.setDesired('default/t1', { setpoint: 22 }, { source: 'mqtt' });
    expect(snap.desiredVersion).toBe(2);
    snap = await twin.report('default/t1', { temperature: { value: 20.5, sourceTime: 1000, quality: 'Good' } });
    snap = await twin.report('default/t1', { temperature: { value: 20.5 } });
    expect(snap.reportedVersion).toBe(2);
    expect(snap.desiredVersion).toBe(2);
    // null deletes a desired value
    snap = await twin.setDesired('default/t1', { power: null }, { source: 'http' });
    expect(snap.desired.power).toBeUndefined();
    expect(snap.desiredVersion).toBe(3);
  });

  it('a report overtaken by a newer one (older source time) leaves the newer reading; a clock set back by more than 10 min is applied', async () => {
    const { twin } = await withDevices('t1');
    const t0 = 1_800_000_000_000;
    await twin.report('default/t1', { temperature: { value: 21, sourceTime: t0 } });
    // Reported concurrently (two DMI calls), committed in the other order: the older one loses.
    let snap = await twin.report('default/t1', { temperature: { value: 20, sourceTime: t0 - 500 } });
    expect(snap.reported.temperature).toMatchObject({ value: 21, sourceTime: t0 });
    // Other properties of the same report still count.
    snap = await twin.report('default/t1', {
      temperature: { value: 19, sourceTime: t0 - 400 },
      setpoint: { value: 22, sourceTime: t0 - 400 },
    });
    expect(snap.reported.temperature?.value).toBe(21);
    expect(snap.reported.setpoint?.value).toBe(22);
    // The same source time, a later one, or none at all is a new reading.
    snap = await twin.report('default/t1', { temperature: { value: 21.5, sourceTime: t0 } });
    expect(snap.reported.temperature?.value).toBe(21.5);
    snap = await twin.report('default/t1', { temperature: { value: 18 } });
    expect(snap.reported.temperature?.value).toBe(18);
    await twin.report('default/t1', { temperature: { value: 22, sourceTime: t0 + 1000 } });
    // A device whose clock went back by an hour (a reset) is not ignored from then on.
    snap = await twin.report('default/t1', { temperature: { value: 17, sourceTime: t0 - 3_600_000 } });
    expect(snap.reported.temperature).toMatchObject({ value: 17, sourceTime: t0 - 3_600_000 });
  });

  it('rejects wrong types, ReadOnly, out-of-range, unknown properties and unknown devices with stable codes', async () => {
    const { twin } = await withDevices('t1');
    const wrongType = await rejection(twin.setDesired('default/t1', { setpoint: 'warm' }, { source: 'http' }));
    expect(isEdgeTwinError(wrongType, 'ET_BAD_VALUE')).toBe(true);
    expect((wrongType as Error).message).toMatch(/property "setpoint": expected an integer \(INT\), got "warm"/);
    const readOnly = await rejection(twin.setDesired('default/t1', { temperature: 20 }, { source: 'http' }));
    expect(isEdgeTwinError(readOnly, 'ET_READ_ONLY')).toBe(true);
    const range = await rejection(twin.setDesired('default/t1', { setpoint: 31 }, { source: 'http' }));
    expect(isEdgeTwinError(range, 'ET_BAD_VALUE')).toBe(true);
    expect((range as Error).message).toMatch(/above the maximum 30/);
    const unknown = await rejection(twin.setDesired('default/t1', { humidity: 1 }, { source: 'http' }));
    expect(isEdgeTwinError(unknown, 'ET_UNKNOWN_PROPERTY')).toBe(true);
    const missing = await rejection(twin.report('default/nope', { setpoint: { value: 1 } }));
    expect(isEdgeTwinError(missing, 'ET_NOT_FOUND')).toBe(true);
    const badReport = await rejection(twin.report('default/t1', { temperature: { value: 'hot' } }));
    expect(isEdgeTwinError(badReport, 'ET_BAD_VALUE')).toBe(true);
    const badState = await rejection(twin.setState('default/t1', 'sleepy'));
    expect(isEdgeTwinError(badState, 'ET_BAD_VALUE')).toBe(true);
    // nothing of the rejected changes was applied
    const snap = twin.getTwin('default/t1')!;
    expect(snap.desiredVersion).toBe(0);
    expect(snap.reportedVersion).toBe(0);
  });

  it('a stale ifDesiredVersion is refused, even after many reports', async () => {
    const { twin } = await withDevices('t1');
    const s1 = await twin.setDesired('default/t1', { setpoint: 20 }, { source: 'http' });
    await twin.report('default/t1', { temperature: { value: 19 } });
    await twin.report('default/t1', { temperature: { value: 19.5 } });
    const ok = await twin.setDesired(
      'default/t1',
      { setpoint: 21 },
      { source: 'http', ifDesiredVersion: s1.desiredVersion },
    );
    expect(ok.desiredVersion).toBe(2);
    const stale = await rejection(
      twin.setDesired('default/t1', { setpoint: 22 }, { source: 'http', ifDesiredVersion: 1 }),
    );
    expect(isEdgeTwinError(stale, 'ET_PRECONDITION')).toBe(true);
    expect(twin.getTwin('default/t1')!.desired.setpoint?.value).toBe(21);
  });

  it('spec desired values seed new devices and win only when the spec changes', async () => {
    fx = await openTwin();
    const { twin } = fx;
    const m = [model('thermostat')];
    const events: TwinChangeEvent[] = [];
    twin.on('change', (e) => events.push(e));
    twin.applyResources(resolveAll(m, [device('t1', { desired: { setpoint: '20', mode: 'eco' } })]));
    let snap = twin.getTwin('default/t1')!;
    expect(snap.desired.setpoint).toMatchObject({ value: 20, source: 'spec' });
    expect(snap.delta).toEqual({ setpoint: 20, mode: 'eco' });
    expect(events.map((e) => e.kind)).toEqual(['desired']);

    await twin.setDesired('default/t1', { setpoint: 25 }, { source: 'http' });
    // the same spec again (e.g. YAML reloaded, one annotation changed) keeps the HTTP value
    const again = device('t1', { desired: { setpoint: '20', mode: 'eco' } });
    again.metadata.annotations = { note: 'touched' };
    twin.applyResources(resolveAll(m, [again]));
    expect(twin.getTwin('default/t1')!.desired.setpoint).toMatchObject({ value: 25, source: 'http' });

    // a changed spec value becomes the new desired value
    twin.applyResources(resolveAll(m, [device('t1', { desired: { setpoint: '18', mode: 'eco' } })]));
    snap = twin.getTwin('default/t1')!;
    expect(snap.desired.setpoint).toMatchObject({ value: 18, source: 'spec' });
    expect(snap.desired.mode).toMatchObject({ value: 'eco', source: 'spec' });

    // a property removed from the spec loses its desired and reported entries
    await twin.report('default/t1', { mode: { value: 'eco' } });
    twin.applyResources(
      resolveAll(m, [device('t1', { props: ['temperature', 'setpoint'], desired: { setpoint: '18' } })]),
    );
    snap = twin.getTwin('default/t1')!;
    expect(Object.keys(snap.desired)).toEqual(['setpoint']);
    expect(snap.reported.mode).toBeUndefined();
  });

  it('reports membership changes: added, updated, removed, and ignores devices of other nodes', async () => {
    fx = await openTwin();
    const { twin } = fx;
    const m = [model('thermostat')];
    const seen: MembershipChange[] = [];
    twin.on('membership', (c) => seen.push(c));
    expect(twin.applyResources(resolveAll(m, [device('a'), device('b'), device('x', { nodeName: 'edge-2' })]))).toEqual(
      {
        added: ['default/a', 'default/b'],
        removed: [],
        updated: [],
      },
    );
    expect(twin.applyResources(resolveAll(m, [device('a'), device('b')]))).toEqual({
      added: [],
      removed: [],
      updated: [],
    });
    expect(twin.applyResources(resolveAll(m, [device('a', { desired: { mode: 'x' } })]))).toEqual({
      added: [],
      removed: ['default/b'],
      updated: ['default/a'],
    });
    expect(seen).toHaveLength(2);
    expect(twin.listDevices().map((d) => d.id)).toEqual(['default/a']);
    expect(twin.listModels().map((x) => x.metadata.name)).toEqual(['thermostat']);
  });

  it('a commit that fails rolls the change back and rejects with ET_UNAVAILABLE, emitting nothing', async () => {
    const { twin, store } = await withDevices('t1');
    await twin.report('default/t1', { temperature: { value: 20 } });
    const events: TwinChangeEvent[] = [];
    twin.on('change', (e) => events.push(e));
    store.close(); // the database goes away under the service
    const err = await rejection(twin.report('default/t1', { temperature: { value: 30 } }));
    expect(isEdgeTwinError(err, 'ET_UNAVAILABLE')).toBe(true);
    const snap = twin.getTwin('default/t1')!;
    expect(snap.reported.temperature?.value).toBe(20);
    expect(snap.reportedVersion).toBe(1);
    expect(events).toEqual([]);
  });

  it('a failed commit restores every value the batch set, added or deleted, and the versions', async () => {
    const { twin, store } = await withDevices('t1');
    await twin.setDesired('default/t1', { setpoint: 20, mode: 'eco' }, { source: 'http' });
    await twin.report('default/t1', { temperature: { value: 20 } });
    const before = twin.getTwin('default/t1')!;
    store.close();
    // One batch: a desired change and a deletion, two reports (one of a new property), a state change.
    const results = await Promise.allSettled([
      twin.setDesired('default/t1', { setpoint: 25, mode: null }, { source: 'http' }),
      twin.report('default/t1', { temperature: { value: 30 }, power: { value: true } }),
      twin.report('default/t1', { temperature: { value: 31 } }),
      twin.setState('default/t1', 'online'),
    ]);
    expect(results.every((r) => r.status === 'rejected' && isEdgeTwinError(r.reason, 'ET_UNAVAILABLE'))).toBe(true);
    expect(twin.getTwin('default/t1')).toEqual(before);
  });

  it('state changes move lastOnline and emit state events', async () => {
    const { twin } = await withDevices('t1');
    const events: TwinChangeEvent[] = [];
    twin.on('change', (e) => events.push(e));
    const snap = await twin.setState('default/t1', 'online');
    expect(snap.state).toBe('online');
    expect(snap.lastOnline).toBeGreaterThan(0);
    expect(events.map((e) => [e.kind, e.seq])).toEqual([['state', 1]]);
  });
});
