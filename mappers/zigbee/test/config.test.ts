/** Configuration a user writes (example YAML, configData), value scaling, and the network key file. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DeviceModelSchema, DeviceSchema, isEdgeTwinError, parseWithSchema, type ModelProperty } from '@edgetwin/sdk';
import { type MapperProperty } from '@edgetwin/sdk/mapper';
import {
  checkVisitor,
  loadOrCreateSecrets,
  planWrite,
  toTwin,
  ZigbeeProtocolConfigSchema,
  ZigbeeVisitorConfigSchema,
  type ZigbeeVisitorConfig,
} from '@edgetwin/mapper-zigbee';

const examples = join(import.meta.dirname, '..', 'examples');
const tmp = mkdtempSync(join(tmpdir(), 'edgetwin-zigbee-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function prop(type: ModelProperty['type'], visitor: Partial<ZigbeeVisitorConfig>): MapperProperty<ZigbeeVisitorConfig> {
  const v = parseWithSchema(
    ZigbeeVisitorConfigSchema,
    { cluster: 'genOnOff', attribute: 'onOff', ...visitor },
    'visitor',
  );
  return { name: 'p', model: { name: 'p', type }, visitor: v, collectCycle: 1000, reportCycle: 1000 };
}

describe('example YAML', () => {
  it('the example Devices and DeviceModels are valid resources with valid zigbee configData', () => {
    const docs = (file: string) =>
      parseAllDocuments(readFileSync(join(examples, file), 'utf8')).map((d) => d.toJS() as unknown);
    const models = docs('zigbee-models.yaml').map((m) => parseWithSchema(DeviceModelSchema, m, 'model'));
    const devices = docs('zigbee-devices.yaml').map((d) => parseWithSchema(DeviceSchema, d, 'device'));
    expect(devices.map((d) => d.metadata.name)).toEqual(['th-sensor', 'plug']);
    for (const d of devices) {
      const model = models.find((m) => m.metadata.name === d.spec.deviceModelRef.name)!;
      const protocol = parseWithSchema(
        ZigbeeProtocolConfigSchema,
        { ...model.spec.protocolConfigData, ...d.spec.protocol?.configData },
        d.metadata.name,
      );
      expect(protocol.coordinator).toBe('tcp://127.0.0.1:6638');
      for (const p of d.spec.properties) {
        expect(model.spec.properties.map((mp) => mp.name)).toContain(p.name);
        const v = parseWithSchema(ZigbeeVisitorConfigSchema, p.visitors?.configData, `${d.metadata.name}/${p.name}`);
        expect(() => checkVisitor(p.name, v)).not.toThrow();
      }
    }
  });
});

describe('configData', () => {
  it('an IEEE address without 0x and 16 hex digits is refused, naming the field', () => {
    expect(() => parseWithSchema(ZigbeeProtocolConfigSchema, { ieeeAddress: '00124b00' }, 'Device default/x')).toThrow(
      /ieeeAddress/,
    );
  });

  it('an unknown cluster or attribute is refused with the field and what exists', () => {
    const bad = (v: ZigbeeVisitorConfig) => {
      try {
        checkVisitor('power', v);
      } catch (err) {
        return err;
      }
      return undefined;
    };
    const e1 = bad({ cluster: 'genOnOf', attribute: 'onOff', scale: 1 });
    expect(isEdgeTwinError(e1, 'ET_CONFIG_INVALID') && e1.details.path).toBe('/cluster');
    const e2 = bad({ cluster: 'genOnOff', attribute: 'on', scale: 1 });
    expect(isEdgeTwinError(e2, 'ET_CONFIG_INVALID') && e2.message).toMatch(/no attribute "on" \(it has onOff/);
  });
});

describe('values', () => {
  it('scales ZCL values into typed twin values', () => {
    expect(
      toTwin(prop('FLOAT', { cluster: 'msTemperatureMeasurement', attribute: 'measuredValue', scale: 0.01 }), 2153)
        .value,
    ).toBe(21.53);
    expect(toTwin(prop('INT', { cluster: 'genLevelCtrl', attribute: 'currentLevel' }), 100).value).toBe(100);
    expect(toTwin(prop('BOOLEAN', {}), 1).value).toBe(true);
    expect(toTwin(prop('BOOLEAN', {}), 0).value).toBe(false);
  });

  it('sends on/off and level as commands, other attributes as writes of the unscaled value', () => {
    expect(planWrite(prop('BOOLEAN', {}), true)).toEqual({
      kind: 'command',
      cluster: 'genOnOff',
      command: 'on',
      payload: {},
    });
    expect(planWrite(prop('BOOLEAN', {}), false)).toMatchObject({ command: 'off' });
    expect(planWrite(prop('INT', { cluster: 'genLevelCtrl', attribute: 'currentLevel' }), 300)).toEqual({
      kind: 'command',
      cluster: 'genLevelCtrl',
      command: 'moveToLevelWithOnOff',
      payload: { level: 254, transtime: 0 },
    });
    const setpoint = prop('FLOAT', { cluster: 'hvacThermostat', attribute: 'occupiedHeatingSetpoint', scale: 0.01 });
    expect(planWrite(setpoint, 21.5)).toEqual({
      kind: 'write',
      cluster: 'hvacThermostat',
      attributes: { occupiedHeatingSetpoint: 2150 },
    });
  });
});

describe('network key', () => {
  it('is generated once, kept private to the owner, and the same on every later start', () => {
    const dir = join(tmp, 'c1');
    const first = loadOrCreateSecrets(dir);
    expect(first.networkKey).toHaveLength(16);
    expect(statSync(join(dir, 'network-key.json')).mode & 0o077).toBe(0);
    expect(loadOrCreateSecrets(dir)).toEqual(first);
    expect(loadOrCreateSecrets(join(tmp, 'c2')).networkKey).not.toEqual(first.networkKey);
  });

  it('a damaged key file is refused with the file named instead of silently forming a new network', () => {
    const dir = join(tmp, 'c3');
    loadOrCreateSecrets(dir);
    writeFileSync(join(dir, 'network-key.json'), '{"networkKey":[1,2]}');
    expect(() => loadOrCreateSecrets(dir)).toThrow(/network-key\.json must hold networkKey/);
  });
});
