/**
 * ZDO requests as Z-Stack receives them over MT (herdsman prefixes the destination address) and
 * the ZDO responses it sends back as AREQs (`srcaddr` followed by the ZDO response body).
 */
import type { SimDevice, SimEndpoint } from './sim-device.js';
import { Zcl } from 'zigbee-herdsman';

export const ZdoCluster = {
  NWK_ADDR_REQ: 0x0000,
  IEEE_ADDR_REQ: 0x0001,
  NODE_DESC_REQ: 0x0002,
  SIMPLE_DESC_REQ: 0x0004,
  ACTIVE_EP_REQ: 0x0005,
  BIND_REQ: 0x0021,
  UNBIND_REQ: 0x0022,
  MGMT_LEAVE_REQ: 0x0034,
  MGMT_PERMIT_JOIN_REQ: 0x0036,
  MGMT_NWK_UPDATE_REQ: 0x0038,
} as const;

const SUCCESS = 0x00;
const DEVICE_NOT_FOUND = 0x81;
const INVALID_EP = 0x82;

/** 8-byte little-endian form of `0x0123...` */
export function ieeeToLe(ieee: string): Buffer {
  return Buffer.from(ieee.slice(2).padStart(16, '0'), 'hex').reverse();
}

function withSrc(src: number, body: Buffer): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(src, 0);
  return Buffer.concat([b, body]);
}

export function nodeDescRsp(dev: SimDevice | undefined, nwk: number): Buffer {
  if (!dev) return withSrc(nwk, Buffer.from([DEVICE_NOT_FOUND, nwk & 0xff, nwk >> 8]));
  const b = Buffer.alloc(16);
  let o = 0;
  b[o++] = SUCCESS;
  b.writeUInt16LE(dev.nwk, o);
  o += 2;
  b[o++] = dev.spec.logicalType; // logical type
  b[o++] = 0x40; // 2.4 GHz band
  b[o++] = dev.spec.logicalType === 1 ? 0x8e : 0x80; // MAC capabilities
  b.writeUInt16LE(dev.spec.manufacturerCode, o);
  o += 2;
  b[o++] = 0x52; // max buffer size
  b.writeUInt16LE(0x80, o); // max incoming transfer
  o += 2;
  b.writeUInt16LE(0x2c00, o); // server mask (stack compliance revision 22)
  o += 2;
  b.writeUInt16LE(0x80, o); // max outgoing transfer
  o += 2;
  b[o++] = 0x00;
  return withSrc(dev.nwk, b.subarray(0, o));
}

export function activeEpRsp(nwk: number, endpoints: readonly number[] | undefined): Buffer {
  if (!endpoints) return withSrc(nwk, Buffer.from([DEVICE_NOT_FOUND, nwk & 0xff, nwk >> 8, 0]));
  const head = Buffer.from([SUCCESS, nwk & 0xff, nwk >> 8, endpoints.length]);
  return withSrc(nwk, Buffer.concat([head, Buffer.from(endpoints)]));
}

/** A simple descriptor with numeric cluster ids. */
export interface SimpleDescriptor {
  profileId: number;
  deviceId: number;
  inIds: number[];
  outIds: number[];
}

export function describeEndpoint(ep: SimEndpoint): SimpleDescriptor {
  const ids = (names: string[]) => names.map((n) => Zcl.Utils.getCluster(n).ID);
  return { profileId: ep.profileId, deviceId: ep.deviceId, inIds: ids(ep.inClusters), outIds: ids(ep.outClusters) };
}

export function simpleDescRsp(nwk: number, epId: number, ep: SimpleDescriptor | undefined): Buffer {
  if (!ep) return withSrc(nwk, Buffer.from([INVALID_EP, nwk & 0xff, nwk >> 8, 0]));
  const { inIds, outIds } = ep;
  const desc = Buffer.alloc(8 + 2 * (inIds.length + outIds.length));
  let o = 0;
  desc[o++] = epId;
  desc.writeUInt16LE(ep.profileId, o);
  o += 2;
  desc.writeUInt16LE(ep.deviceId, o);
  o += 2;
  desc[o++] = 1;
  desc[o++] = inIds.length;
  for (const id of inIds) {
    desc.writeUInt16LE(id, o);
    o += 2;
  }
  desc[o++] = outIds.length;
  for (const id of outIds) {
    desc.writeUInt16LE(id, o);
    o += 2;
  }
  const head = Buffer.from([SUCCESS, nwk & 0xff, nwk >> 8, desc.length]);
  return withSrc(nwk, Buffer.concat([head, desc]));
}

/** nwkAddrRsp in Z-Stack's layout (start index and device count swapped, no list). */
export function nwkAddrRsp(ieee: string, nwk: number | undefined): Buffer {
  const b = Buffer.alloc(13);
  b[0] = nwk === undefined ? DEVICE_NOT_FOUND : SUCCESS;
  ieeeToLe(ieee).copy(b, 1);
  b.writeUInt16LE(nwk ?? 0xfffe, 9);
  return b;
}

export function endDeviceAnnounce(dev: SimDevice): Buffer {
  const b = Buffer.alloc(11);
  b.writeUInt16LE(dev.nwk, 0);
  ieeeToLe(dev.ieee).copy(b, 2);
  b[10] = dev.spec.logicalType === 1 ? 0x8e : 0x80;
  return withSrc(dev.nwk, b);
}

/** A response carrying only a status (bind, leave, permit join...). */
export function statusRsp(src: number, status = SUCCESS): Buffer {
  return withSrc(src, Buffer.from([status]));
}
