/**
 * Values between ZCL attributes and twin properties: scaling, types, and how a desired value
 * reaches the device (a cluster command for on/off and level, an attribute write otherwise).
 */
import { EdgeTwinError, type TwinValue } from '@edgetwin/sdk';
import { type MapperProperty, type Reading } from '@edgetwin/sdk/mapper';
import { Zcl } from 'zigbee-herdsman';
import type { ZigbeeVisitorConfig } from '../config.js';

export type ZclValue = number | string | boolean | bigint;

/** Checks that the cluster and attribute exist in the ZCL definitions; throws ET_CONFIG_INVALID. */
export function checkVisitor(property: string, v: ZigbeeVisitorConfig): void {
  let cluster;
  try {
    cluster = Zcl.Utils.getCluster(v.cluster);
  } catch {
    throw new EdgeTwinError(
      'ET_CONFIG_INVALID',
      `property ${property}: visitor configData field /cluster: unknown ZCL cluster ${JSON.stringify(v.cluster)}; use a herdsman cluster name such as msTemperatureMeasurement or genOnOff`,
      { details: { path: '/cluster', property } },
    );
  }
  if (!Zcl.Utils.getClusterAttribute(cluster, v.attribute, undefined)) {
    const known = Object.keys(cluster.attributes).slice(0, 8).join(', ');
    throw new EdgeTwinError(
      'ET_CONFIG_INVALID',
      `property ${property}: visitor configData field /attribute: cluster ${v.cluster} has no attribute ${JSON.stringify(v.attribute)} (it has ${known}, ...)`,
      { details: { path: '/attribute', property } },
    );
  }
}

const roundTo12 = (n: number): number => Number(n.toPrecision(12));

/** A ZCL attribute value as the property's typed twin value. */
export function toTwin(prop: MapperProperty<ZigbeeVisitorConfig>, raw: ZclValue): Reading {
  const n = typeof raw === 'bigint' ? Number(raw) : raw;
  switch (prop.model.type) {
    case 'BOOLEAN':
      return { value: typeof n === 'boolean' ? n : Number(n) !== 0 };
    case 'INT':
      return { value: Math.round(Number(n) * prop.visitor.scale) };
    case 'FLOAT':
    case 'DOUBLE':
      return { value: roundTo12(Number(n) * prop.visitor.scale) };
    case 'STRING':
    case 'STREAM':
    case 'BYTES':
      return { value: String(n) };
  }
}

/** A twin value as the ZCL attribute value (integers for integer ZCL types). */
export function toZcl(prop: MapperProperty<ZigbeeVisitorConfig>, value: TwinValue): number | string {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') return value;
  const attr = Zcl.Utils.getClusterAttribute(
    Zcl.Utils.getCluster(prop.visitor.cluster),
    prop.visitor.attribute,
    undefined,
  );
  const scaled = value / prop.visitor.scale;
  return attr && isIntegerType(attr.type) ? Math.round(scaled) : scaled;
}

function isIntegerType(t: number): boolean {
  const D = Zcl.DataType;
  return [
    D.UINT8,
    D.UINT16,
    D.UINT24,
    D.UINT32,
    D.INT8,
    D.INT16,
    D.INT24,
    D.INT32,
    D.ENUM8,
    D.ENUM16,
    D.BITMAP8,
    D.BITMAP16,
    D.BOOLEAN,
    D.DATA8,
    D.DATA16,
  ].includes(t);
}

/** How a desired value is applied. */
export type WritePlan =
  | { kind: 'command'; cluster: string; command: string; payload: Record<string, unknown> }
  | { kind: 'write'; cluster: string; attributes: Record<string, number | string> };

export function planWrite(prop: MapperProperty<ZigbeeVisitorConfig>, value: TwinValue): WritePlan {
  const { cluster, attribute } = prop.visitor;
  const raw = toZcl(prop, value);
  if (cluster === 'genOnOff' && attribute === 'onOff') {
    return { kind: 'command', cluster, command: Number(raw) ? 'on' : 'off', payload: {} };
  }
  if (cluster === 'genLevelCtrl' && attribute === 'currentLevel') {
    const level = Math.max(0, Math.min(254, Math.round(Number(raw))));
    return { kind: 'command', cluster, command: 'moveToLevelWithOnOff', payload: { level, transtime: 0 } };
  }
  return { kind: 'write', cluster, attributes: { [attribute]: raw } };
}
