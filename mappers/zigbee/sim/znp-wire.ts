/**
 * MT/ZNP framing for the emulator, built on zigbee-herdsman's own UNPI frame and ZNP command
 * definition modules, so the emulator speaks exactly the dialect herdsman parses.
 */
import { Constants, Frame, Parser } from 'zigbee-herdsman/dist/adapter/z-stack/unpi/index.js';
import DefinitionModule from 'zigbee-herdsman/dist/adapter/z-stack/znp/definition.js';
import BuffaloZnpModule from 'zigbee-herdsman/dist/adapter/z-stack/znp/buffaloZnp.js';
import ParameterTypeModule from 'zigbee-herdsman/dist/adapter/z-stack/znp/parameterType.js';
import type { MtCmd, MtParameter } from 'zigbee-herdsman/dist/adapter/z-stack/znp/tstype.js';

export const Subsystem = Constants.Subsystem;
export const FrameType = Constants.Type;
export type SubsystemId = number;

/**
 * herdsman's CJS modules set `exports.default`; Node's ESM loader hands us `module.exports`, bundlers
 * (vitest) sometimes the default itself. Accept both.
 */
function interopDefault<T>(mod: { default: T } | T): T {
  const m = mod as { default?: T; __esModule?: boolean };
  return m.default !== undefined && m.__esModule ? m.default : (mod as T);
}

const Definition = interopDefault(DefinitionModule) as unknown as Record<number, MtCmd[]>;
const BuffaloZnp = interopDefault(BuffaloZnpModule);

export { Frame, Parser };

/** A decoded request from the host: command name plus named parameters (ZDO requests keep raw data). */
export interface ZnpRequest {
  type: number;
  subsystem: SubsystemId;
  name: string;
  commandId: number;
  /** Named parameters for non-ZDO commands. */
  params: Record<string, unknown>;
  /** The frame data, for ZDO requests whose layout herdsman does not describe. */
  data: Buffer;
  zdoClusterId: number | undefined;
}

function findById(subsystem: SubsystemId, id: number): MtCmd | undefined {
  return Definition[subsystem]?.find((c) => c.ID === id);
}

function findByName(subsystem: SubsystemId, name: string): MtCmd {
  const cmd = Definition[subsystem]?.find((c) => c.name === name);
  if (!cmd) throw new Error(`ZNP command ${name} not in subsystem ${subsystem}`);
  return cmd;
}

const LENGTH_PREFIXED = new Set(['BUFFER', 'LIST_UINT16', 'LIST_UINT8', 'LIST_NETWORK']);

function readParams(data: Buffer, params: readonly MtParameter[]): Record<string, unknown> {
  const buffalo = new BuffaloZnp(data);
  const out: Record<string, unknown> = {};
  let previous: unknown;
  for (const p of params) {
    const opts: { length?: number } = {};
    if (LENGTH_PREFIXED.has(paramTypeName(p.parameterType)) && typeof previous === 'number') opts.length = previous;
    const v: unknown = buffalo.read(p.parameterType, opts);
    out[p.name] = v;
    previous = v;
  }
  return out;
}

const ParameterType = interopDefault(ParameterTypeModule) as unknown as Record<number, string>;
function paramTypeName(t: number): string {
  return ParameterType[t] ?? '';
}

/** Decodes a frame from the host; undefined for commands herdsman's definition does not know. */
export function decodeRequest(frame: Frame): ZnpRequest | undefined {
  const cmd = findById(frame.subsystem, frame.commandID);
  if (!cmd) return undefined;
  const zdoClusterId = 'zdoClusterId' in cmd ? cmd.zdoClusterId : undefined;
  const params = 'request' in cmd && cmd.request ? readParams(frame.data, cmd.request) : {};
  return {
    type: frame.type,
    subsystem: frame.subsystem,
    name: cmd.name,
    commandId: cmd.ID,
    params,
    data: frame.data,
    zdoClusterId,
  };
}

function writeParams(params: readonly MtParameter[], payload: Record<string, unknown>): Buffer {
  const buffalo = new BuffaloZnp(Buffer.alloc(Constants.MaxDataSize));
  for (const p of params) buffalo.write(p.parameterType, payload[p.name] as Parameters<typeof buffalo.write>[1], {});
  return buffalo.getWritten();
}

/** An SRSP to `name` with the response parameters of herdsman's definition. */
export function encodeSrsp(subsystem: SubsystemId, name: string, payload: Record<string, unknown>): Frame {
  const cmd = findByName(subsystem, name);
  const params = 'response' in cmd && cmd.response ? cmd.response : [];
  return new Frame(Constants.Type.SRSP, subsystem, cmd.ID, writeParams(params, payload));
}

/** An SRSP with raw data (ZDO requests answer with one status byte). */
export function encodeRawSrsp(subsystem: SubsystemId, commandId: number, data: Buffer): Frame {
  return new Frame(Constants.Type.SRSP, subsystem, commandId, data);
}

/** An AREQ (indication/callback) `name` with its parameters. */
export function encodeAreq(subsystem: SubsystemId, name: string, payload: Record<string, unknown>): Frame {
  const cmd = findByName(subsystem, name);
  const params = 'request' in cmd && cmd.request ? cmd.request : [];
  return new Frame(Constants.Type.AREQ, subsystem, cmd.ID, writeParams(params, payload));
}

/** A ZDO AREQ whose data layout is the raw ZDO response (e.g. activeEpRsp). */
export function encodeRawAreq(subsystem: SubsystemId, name: string, data: Buffer): Frame {
  const cmd = findByName(subsystem, name);
  return new Frame(Constants.Type.AREQ, subsystem, cmd.ID, data);
}

/** The ZDO response AREQ for a request cluster (Z-Stack answers cluster `req | 0x8000`). */
export function encodeZdoResponse(requestClusterId: number, data: Buffer): Frame | undefined {
  const rsp = requestClusterId | 0x8000;
  const cmd = Definition[Constants.Subsystem.ZDO]?.find(
    (c) => Number(c.type) === Number(Constants.Type.AREQ) && 'zdoClusterId' in c && Number(c.zdoClusterId) === rsp,
  );
  return cmd ? new Frame(Constants.Type.AREQ, Constants.Subsystem.ZDO, cmd.ID, data) : undefined;
}
