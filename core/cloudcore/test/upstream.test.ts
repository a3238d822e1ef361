import { describe, expect, it } from 'vitest';
import { applyStatus } from '@edgetwin/cloudcore/k8s';
import { groupUpstream, specVersion } from '@edgetwin/cloudcore';

describe('upstream grouping and status building', () => {
  it('entries for a device the node does not own are confirmed and dropped, not written', () => {
    const { byDevice, dropped } = groupUpstream(
      [
        {
          key: 'r|default/a|t',
          seq: 1,
          entry: { kind: 'reported', device: 'default/a', property: 't', value: '1', updatedAt: 5 },
        },
        {
          key: 'r|default/moved|t',
          seq: 2,
          entry: { kind: 'reported', device: 'default/moved', property: 't', value: '2', updatedAt: 6 },
        },
        { key: 'd|default/a|sp', seq: 3, entry: { kind: 'desired', device: 'default/a', property: 'sp', value: '30' } },
        { key: 's|default/a', seq: 4, entry: { kind: 'state', device: 'default/a', state: 'online', lastOnline: 0 } },
      ],
      (d) => d === 'default/a',
    );
    expect(dropped).toEqual([{ key: 'r|default/moved|t', seq: 2 }]);
    const a = byDevice.get('default/a')!;
    expect(a.keys.map((k) => k.seq)).toEqual([1, 3, 4]);
    expect(a.desired.get('sp')).toBe('30');
    expect(a.status).toEqual({
      twins: { t: { value: '1', updatedAt: 5 } },
      state: 'online',
      lastOnlineTime: '1970-01-01T00:00:00.000Z',
    });
  });

  it('a status update replaces the reported twins it names and keeps the others', () => {
    const current = {
      state: 'offline',
      twins: [
        { propertyName: 'a', reported: { value: '1' } },
        { propertyName: 'b', reported: { value: '2' }, observedDesired: { value: '9' } },
      ],
    };
    const next = applyStatus(current, {
      twins: { b: { value: '3', updatedAt: 7, quality: 'uncertain' } },
      state: 'online',
    });
    expect(next).toEqual({
      state: 'online',
      twins: [
        { propertyName: 'a', reported: { value: '1' } },
        {
          propertyName: 'b',
          reported: { value: '3', metadata: { timestamp: '7', quality: 'uncertain' } },
          observedDesired: { value: '9' },
        },
      ],
    });
  });

  it('object versions follow spec changes (uid/generation), not status writes', () => {
    expect(specVersion({ metadata: { uid: 'u1', generation: 3, resourceVersion: '999' } })).toBe('u1/3');
    expect(specVersion({ metadata: { resourceVersion: '12' } })).toBe('12');
  });
});
