/**
 * One simulated slave: four tables and the Modbus PDU handling for functions 1-6, 15 and 16.
 * Framing (TCP or RTU) lives in the servers; this file only sees PDUs.
 */
import type { TwinValue } from '@edgetwin/sdk';
import { decodeRegisters, encodeRegisters, type ValueSpec } from '../src/codec/registers.js';
import type { SimRegister, SimSlaveConfig } from './config.js';

export type SimTable = 'holding' | 'input' | 'coil' | 'discrete';

/** Exception PDU for `fn`. */
function exception(fn: number, code: number): Buffer {
  return Buffer.from([fn | 0x80, code]);
}

export function registerSpec(r: SimRegister): ValueSpec {
  return {
    table: 'HoldingRegister',
    address: r.address,
    count:
      r.type === 'string'
        ? r.length
        : (({ int16: 1, uint16: 1, boolean: 1, int32: 2, uint32: 2, float32: 2 } as Record<string, number>)[r.type] ??
          4),
    dataType: r.type,
    scale: r.scale,
    valueOffset: 0,
    isSwap: r.isSwap,
    isRegisterSwap: r.isRegisterSwap,
    modelType: r.type === 'string' ? 'STRING' : r.type === 'boolean' ? 'BOOLEAN' : 'DOUBLE',
  };
}

export class SimSlave {
  readonly id: number;
  readonly size: number;
  responding: boolean;
  /** Milliseconds to wait before answering. */
  delayMs: number;
  /** Requests this slave answered (or would have, when muted). */
  requests = 0;
  private readonly holding: Uint16Array;
  private readonly input: Uint16Array;
  private readonly coils: Uint8Array;
  private readonly discrete: Uint8Array;
  private readonly named = new Map<string, { table: 'holding' | 'input'; reg: SimRegister }>();

  constructor(cfg: SimSlaveConfig) {
    this.id = cfg.id;
    this.size = cfg.size;
    this.responding = cfg.responding;
    this.delayMs = cfg.delayMs;
    this.holding = new Uint16Array(cfg.size);
    this.input = new Uint16Array(cfg.size);
    this.coils = new Uint8Array(cfg.size);
    this.discrete = new Uint8Array(cfg.size);
    for (const r of cfg.holdingRegisters) this.define('holding', r);
    for (const r of cfg.inputRegisters) this.define('input', r);
    for (const b of cfg.coils) this.setBit('coil', b.address, b.value);
    for (const b of cfg.discreteInputs) this.setBit('discrete', b.address, b.value);
  }

  private define(table: 'holding' | 'input', r: SimRegister): void {
    if (r.name) this.named.set(r.name, { table, reg: r });
    this.setRegisters(table, r.address, encodeRegisters(r.value, registerSpec(r)));
  }

  /** A register's decoded value by its YAML name. */
  getValue(name: string): TwinValue | undefined {
    const n = this.named.get(name);
    if (!n) return undefined;
    const spec = registerSpec(n.reg);
    return decodeRegisters(this.getRegisters(n.table, n.reg.address, spec.count), spec);
  }

  setValue(name: string, value: TwinValue): void {
    const n = this.named.get(name);
    if (!n) throw new Error(`simulated slave ${this.id} has no register named ${name}`);
    this.setRegisters(n.table, n.reg.address, encodeRegisters(value, registerSpec(n.reg)));
  }

  getRegisters(table: 'holding' | 'input', address: number, count: number): number[] {
    return [...(table === 'holding' ? this.holding : this.input).subarray(address, address + count)];
  }

  setRegisters(table: 'holding' | 'input', address: number, values: readonly number[]): void {
    (table === 'holding' ? this.holding : this.input).set(values, address);
  }

  getBit(table: 'coil' | 'discrete', address: number): boolean {
    return (table === 'coil' ? this.coils : this.discrete)[address] === 1;
  }

  setBit(table: 'coil' | 'discrete', address: number, value: boolean): void {
    (table === 'coil' ? this.coils : this.discrete)[address] = value ? 1 : 0;
  }

  /** Answers a request PDU; undefined means "stay silent" (muted slave or broadcast). */
  handle(pdu: Buffer): Buffer | undefined {
    this.requests++;
    if (!this.responding) return undefined;
    const fn = pdu[0] ?? 0;
    if (pdu.length < 5) return exception(fn, 3);
    const address = pdu.readUInt16BE(1);
    const qty = pdu.readUInt16BE(3);
    const inRange = (n: number) => address + n <= this.size;
    switch (fn) {
      case 1:
      case 2: {
        if (qty < 1 || qty > 2000) return exception(fn, 3);
        if (!inRange(qty)) return exception(fn, 2);
        const src = fn === 1 ? this.coils : this.discrete;
        const bytes = Buffer.alloc(Math.ceil(qty / 8));
        for (let i = 0; i < qty; i++) if (src[address + i]) bytes[i >> 3] = (bytes[i >> 3] ?? 0) | (1 << (i & 7));
        return Buffer.concat([Buffer.from([fn, bytes.length]), bytes]);
      }
      case 3:
      case 4: {
        if (qty < 1 || qty > 125) return exception(fn, 3);
        if (!inRange(qty)) return exception(fn, 2);
        const src = fn === 3 ? this.holding : this.input;
        const out = Buffer.alloc(2 + qty * 2);
        out[0] = fn;
        out[1] = qty * 2;
        for (let i = 0; i < qty; i++) out.writeUInt16BE(src[address + i] ?? 0, 2 + i * 2);
        return out;
      }
      case 5: {
        if (qty !== 0xff00 && qty !== 0) return exception(fn, 3);
        if (!inRange(1)) return exception(fn, 2);
        this.coils[address] = qty === 0xff00 ? 1 : 0;
        return Buffer.from(pdu.subarray(0, 5));
      }
      case 6: {
        if (!inRange(1)) return exception(fn, 2);
        this.holding[address] = qty;
        return Buffer.from(pdu.subarray(0, 5));
      }
      case 15:
      case 16: {
        const byteCount = pdu[5] ?? 0;
        const max = fn === 15 ? 1968 : 123;
        const need = fn === 15 ? Math.ceil(qty / 8) : qty * 2;
        if (qty < 1 || qty > max || byteCount !== need || pdu.length < 6 + need) return exception(fn, 3);
        if (!inRange(qty)) return exception(fn, 2);
        for (let i = 0; i < qty; i++) {
          if (fn === 15) this.coils[address + i] = ((pdu[6 + (i >> 3)] ?? 0) >> (i & 7)) & 1;
          else this.holding[address + i] = pdu.readUInt16BE(6 + i * 2);
        }
        return Buffer.from(pdu.subarray(0, 5));
      }
      default:
        return exception(fn, 1);
    }
  }
}
