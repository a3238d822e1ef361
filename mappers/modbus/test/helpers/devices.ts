/** Building the MapperDevice a runtime would hand the driver, from raw configData. */
import pino from 'pino';
import { parseWithSchema, type PropertyType } from '@edgetwin/sdk';
import { type MapperDevice, type MapperProperty, type Reading, type SessionHooks } from '@edgetwin/sdk/mapper';
import {
  ModbusProtocolConfigSchema,
  ModbusVisitorConfigSchema,
  type ModbusProtocolConfig,
  type ModbusVisitorConfig,
} from '@edgetwin/mapper-modbus';

export const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

export interface PropDef {
  name: string;
  type: PropertyType;
  readOnly?: boolean;
  visitor: Record<string, unknown>;
}

export function property(def: PropDef): MapperProperty<ModbusVisitorConfig> {
  return {
    name: def.name,
    model: { name: def.name, type: def.type, accessMode: def.readOnly ? 'ReadOnly' : 'ReadWrite' },
    visitor: parseWithSchema(ModbusVisitorConfigSchema, def.visitor, `property ${def.name}`),
    collectCycle: 1000,
    reportCycle: 1000,
  };
}

export function device(
  name: string,
  protocol: Record<string, unknown>,
  props: PropDef[],
): MapperDevice<ModbusProtocolConfig, ModbusVisitorConfig> {
  const properties = props.map(property);
  return {
    id: `default/${name}`,
    namespace: 'default',
    name,
    protocol: parseWithSchema(ModbusProtocolConfigSchema, protocol, `device ${name}`),
    properties,
    device: {
      apiVersion: 'devices.kubeedge.io/v1beta1',
      kind: 'Device',
      metadata: { name, namespace: 'default' },
      spec: { deviceModelRef: { name: 'model' }, properties: props.map((p) => ({ name: p.name })) },
    },
    model: {
      apiVersion: 'devices.kubeedge.io/v1beta1',
      kind: 'DeviceModel',
      metadata: { name: 'model', namespace: 'default' },
      spec: { properties: properties.map((p) => p.model) },
    },
  };
}

export interface RecordingHooks extends SessionHooks {
  lost: Error[];
  readings: { property: string; reading: Reading }[];
}

export function hooks(): RecordingHooks {
  const h: RecordingHooks = {
    lost: [],
    readings: [],
    onLost: (err) => h.lost.push(err),
    onReading: (property, reading) => h.readings.push({ property, reading }),
  };
  return h;
}

/** Values of a read result, errors shown as `Error(code)`. */
export function values(result: Map<string, Reading | Error>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of result) {
    out[k] = v instanceof Error ? `Error(${(v as { code?: string }).code ?? v.message})` : v.value;
  }
  return out;
}
