/**
 * Twins for keys a device's model does not have, as KubeEdge's edgecore adds them when a `$hw`
 * twin/update names them: stored, kept across a restart and a spec change, taken over by a model
 * that later defines the name, bounded in number, and never sent to a mapper over DMI.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isEdgeTwinError } from '@edgetwin/sdk';
import { toPbDevice } from '@edgetwin/sdk/dmi';
import { MAX_ADHOC_TWINS } from '@edgetwin/device-twin';
import { device, model, openTwin, removeDir, resolveAll, type TwinFixture } from './fixtures.js';

const fixtures: TwinFixture[] = [];
afterEach(async () => {
  for (const fx of fixtures.splice(0)) {
    await fx.close();
    removeDir(fx.dir);
  }
});

describe('ad hoc twins (keys the model does not have)', () => {
  it('are added with their type, take values, survive a restart and a spec change, and stay out of DMI', async () => {
    const fx = await openTwin();
    fixtures.push(fx);
    fx.twin.applyResources(resolveAll([model('thermostat')], [device('t1')]));
    expect(
      fx.twin.addTwins('default/t1', new Map([['humidity', 'DOUBLE'] as const, ['label', 'STRING'] as const])),
    ).toEqual(['humidity', 'label']);
    expect(fx.twin.addTwins('default/t1', new Map([['setpoint', 'STRING'] as const]))).toEqual([]); // the model's own
    await fx.twin.report('default/t1', { humidity: { value: '41.5' } });
    await fx.twin.setDesired('default/t1', { label: 'hall' }, { source: 'mqtt' });
    expect(fx.twin.getTwin('default/t1')!.reported.humidity?.value).toBe(41.5);
    const names = fx.twin.getDevice('default/t1')!.properties.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['setpoint', 'humidity', 'label']));
    // DMI carries the model's properties only
    const pb = toPbDevice(fx.twin.getDevice('default/t1')!, {});
    expect(pb.spec!.properties.map((p) => p.name)).not.toContain('humidity');
    expect(pb.spec!.properties.map((p) => p.name)).toContain('setpoint');

    // restart: the same database file
    await fx.close();
    const again = await openTwin(fx.file);
    fixtures.push({ ...again, dir: fx.dir });
    expect(again.twin.getTwin('default/t1')!.reported.humidity?.value).toBe(41.5);
    expect(again.twin.getTwin('default/t1')!.desired.label?.value).toBe('hall');

    // a spec change keeps them; a model that defines one of them takes it over with its own type
    const props = [
      ...model('thermostat').spec.properties,
      { name: 'label', type: 'STRING' as const, accessMode: 'ReadWrite' as const },
    ];
    again.twin.applyResources(
      resolveAll([model('thermostat', props)], [device('t1', { props: props.map((p) => p.name) })]),
    );
    const dev = again.twin.getDevice('default/t1')!;
    expect(dev.properties.filter((p) => p.name === 'label')).toHaveLength(1);
    expect(dev.properties.some((p) => p.name === 'humidity')).toBe(true);
    expect(again.twin.getTwin('default/t1')!.reported.humidity?.value).toBe(41.5);
    expect(again.twin.getTwin('default/t1')!.desired.label?.value).toBe('hall');
  });

  it(`are bounded: at most ${MAX_ADHOC_TWINS} per device, with an error that says what to do`, async () => {
    const fx = await openTwin();
    fixtures.push(fx);
    fx.twin.applyResources(resolveAll([model('thermostat')], [device('t1')]));
    const many = new Map(Array.from({ length: MAX_ADHOC_TWINS + 1 }, (_, i) => [`k${i}`, 'STRING'] as const));
    let err: unknown;
    try {
      fx.twin.addTwins('default/t1', many);
    } catch (e) {
      err = e;
    }
    expect(isEdgeTwinError(err, 'ET_TOO_LARGE')).toBe(true);
    expect((err as Error).message).toMatch(/add the properties to its DeviceModel/);
    expect(fx.twin.getDevice('default/t1')!.properties.some((p) => p.name === 'k0')).toBe(false);
  });
});
