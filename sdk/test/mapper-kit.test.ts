import { describe, expect, it } from 'vitest';
import { isEdgeTwinError } from '@edgetwin/sdk';
import { parseMapperArgs } from '@edgetwin/sdk/mapper';
import { systemClock } from '@edgetwin/sdk/util';
import { FakeClock, mapperConformance } from '@edgetwin/sdk/testing';
import { MemoryDevice, memoryMapper, memorySpec } from './helpers/memory-mapper.js';

describe('FakeClock', () => {
  it('runs due timers in time order, including timers they schedule, and not the ones after', () => {
    const clock = new FakeClock(1000);
    const ran: string[] = [];
    clock.setTimeout(() => ran.push(`b@${clock.now()}`), 200);
    clock.setTimeout(() => {
      ran.push(`a@${clock.now()}`);
      clock.setTimeout(() => ran.push(`c@${clock.now()}`), 50);
    }, 100);
    const late = clock.setTimeout(() => ran.push('late'), 500);
    clock.advance(300);
    expect(ran).toEqual(['a@1100', 'c@1150', 'b@1200']);
    expect(clock.now()).toBe(1300);
    clock.clearTimeout(late);
    clock.advance(1000);
    expect(ran).toHaveLength(3);
    expect(clock.pending).toBe(0);
  });
});

describe('mapper command line', () => {
  it('takes flags over EDGETWIN_* environment variables', () => {
    const opts = parseMapperArgs(
      'memory',
      ['--mqtt-url', 'mqtt://10.0.0.1:1884', '--log-level', 'debug', '--dmi-socket', '/run/edge/dmi.sock'],
      {
        EDGETWIN_MQTT_URL: 'mqtt://ignored:1',
        EDGETWIN_DMI_SOCKET: '/ignored.sock',
        EDGETWIN_MAPPER_SOCKET: '/run/edge/memory.sock',
        EDGETWIN_NODE_NAME: 'edge-7',
        EDGETWIN_DATA_DIR: '/var/lib/x',
      },
    );
    expect(opts).toEqual({
      dmiSocket: '/run/edge/dmi.sock',
      mapperSocket: '/run/edge/memory.sock',
      mqttUrl: 'mqtt://10.0.0.1:1884',
      nodeName: 'edge-7',
      logLevel: 'debug',
      dataDir: '/var/lib/x',
    });
    expect(parseMapperArgs('memory', ['--help'], {})).toBe('help');
  });

  it('rejects a bad flag with ET_CONFIG_INVALID saying what is accepted', () => {
    for (const [argv, pattern] of [
      [['--log-level', 'loud'], /--log-level "loud" must be one of fatal, error, warn, info, debug, trace/],
      [['--mqtt-url', 'localhost'], /is not a broker URL; use e.g. mqtt:\/\/127.0.0.1:1883/],
      [['--nodename', 'x'], /Unknown option '--nodename'.*see --help/],
    ] as const) {
      try {
        parseMapperArgs('memory', argv, {});
        expect.unreachable();
      } catch (err) {
        expect(isEdgeTwinError(err, 'ET_CONFIG_INVALID')).toBe(true);
        expect((err as Error).message).toMatch(pattern);
      }
    }
  });
});

// The abstract suite run against the in-memory protocol, so the kit itself is covered in sdk.
const devices = new Map<string, MemoryDevice>();
mapperConformance({
  definition: memoryMapper(devices, () => systemClock),
  startDevice() {
    const dev = new MemoryDevice({ level: 3, setpoint: 20 });
    devices.set('mem-1', dev);
    const timer = setInterval(() => dev.set('level', (dev.values.get('level') as number) + 1), 100);
    const { device, model } = memorySpec('tank', 'mem-1', 'any', [
      { name: 'level', accessMode: 'ReadOnly', collectCycle: 200 },
      { name: 'setpoint', minimum: 0, maximum: 100, collectCycle: 200 },
    ]);
    return Promise.resolve({
      device,
      model,
      writable: { property: 'setpoint', values: [42, 43] },
      readOnly: { property: 'level', value: 7 },
      known: { property: 'setpoint', value: 20 },
      changing: 'level',
      invalidVisitor: { property: 'setpoint', configData: { key: '' }, field: '/key' },
      stop: () => {
        clearInterval(timer);
        devices.delete('mem-1');
        return Promise.resolve();
      },
    });
  },
});
