import { afterEach, describe, expect, it } from 'vitest';
import { device, model, openTwin, removeDir, resolveAll, type TwinFixture } from './fixtures.js';

const dirs: string[] = [];
let open: TwinFixture[] = [];
afterEach(async () => {
  for (const f of open) await f.close();
  open = [];
  dirs.splice(0).forEach(removeDir);
});

describe('twin persistence', () => {
  it('everything acknowledged is there after reopening the database', async () => {
    const a = await openTwin();
    open.push(a);
    dirs.push(a.dir);
    a.twin.applyResources(
      resolveAll([model('thermostat')], [device('t1', { desired: { mode: 'eco' } }), device('t2')]),
    );
    await a.twin.setDesired('default/t1', { setpoint: 22 }, { source: 'http' });
    await a.twin.report('default/t1', {
      temperature: { value: 21.5, sourceTime: 123, quality: 'Good' },
      setpoint: { value: 22 },
    });
    await a.twin.setState('default/t2', 'online');
    const before = [a.twin.getTwin('default/t1'), a.twin.getTwin('default/t2')];
    await a.close();
    open = [];

    const b = await openTwin(a.file);
    open.push(b);
    expect(b.twin.listDevices().map((d) => d.id)).toEqual(['default/t1', 'default/t2']);
    expect(b.twin.listModels()).toHaveLength(1);
    expect([b.twin.getTwin('default/t1'), b.twin.getTwin('default/t2')]).toEqual(before);
    expect(b.twin.getTwin('default/t1')!.reported.temperature).toEqual({
      value: 21.5,
      updatedAt: expect.any(Number),
      sourceTime: 123,
      quality: 'Good',
    });
    // the last applied spec is remembered: reapplying the same spec keeps the HTTP value
    b.twin.applyResources(
      resolveAll([model('thermostat')], [device('t1', { desired: { mode: 'eco' } }), device('t2')]),
    );
    expect(b.twin.getTwin('default/t1')!.desired.setpoint?.value).toBe(22);
  });

  it('many updates in one tick commit together and all survive a reopen', async () => {
    const a = await openTwin();
    open.push(a);
    dirs.push(a.dir);
    a.twin.applyResources(resolveAll([model('thermostat')], [device('t1'), device('t2')]));
    const writes = [];
    for (let i = 0; i < 500; i++) {
      writes.push(a.twin.report(i % 2 ? 'default/t1' : 'default/t2', { temperature: { value: i / 10 } }));
    }
    await Promise.all(writes);
    expect(a.twin.metrics.render()).toMatch(/edgetwin_twin_updates_committed_total\{kind="reported"\} 500/);
    await a.close();
    open = [];
    const b = await openTwin(a.file);
    open.push(b);
    expect(b.twin.getTwin('default/t1')!.reportedVersion).toBe(250);
    expect(b.twin.getTwin('default/t1')!.reported.temperature?.value).toBe(49.9);
    expect(b.twin.getTwin('default/t2')!.reported.temperature?.value).toBe(49.8);
  });
});
