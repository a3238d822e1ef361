/**
 * A device session: one Modbus slave behind a shared connection. Reads go through the planner,
 * writes encode the desired value, write it (function 5, 6, 15 or 16) and read it back.
 */
import type { Logger } from 'pino';
import { EdgeTwinError, type TwinValue } from '@edgetwin/sdk';
import { type DeviceSession, type MapperProperty, type Reading } from '@edgetwin/sdk/mapper';
import { decodeBits, decodeRegisters, encodeRegisters, toBit, valueSpec, type ValueSpec } from '../codec/registers.js';
import {
  isBitTable,
  isWritableTable,
  type ModbusProtocolConfig,
  type ModbusVisitorConfig,
  type RegisterTable,
} from '../config.js';
import { planReads, type ReadRequest } from './planner.js';
import type { Lease } from '../transport/pool.js';
import type { ModbusRequest } from '../transport/connection.js';

type Property = MapperProperty<ModbusVisitorConfig>;

const READ_FN: Record<RegisterTable, 1 | 2 | 3 | 4> = {
  CoilRegister: 1,
  DiscreteInputRegister: 2,
  HoldingRegister: 3,
  InputRegister: 4,
};

export class ModbusSession implements DeviceSession<ModbusVisitorConfig> {
  private readonly specs = new WeakMap<Property, ValueSpec>();
  /** Last value handed out per property, for the deadband. */
  private readonly lastValues = new Map<string, number>();
  /** Merged reads the device refused with exception 2 (a hole in its map): read item by item. */
  private readonly splitReads = new Set<string>();
  private readonly plans = new Map<string, { properties: Property[]; plan: ReadRequest<Property>[] }>();
  private closed = false;

  constructor(
    private readonly lease: Lease,
    private readonly protocol: ModbusProtocolConfig,
    private readonly logger: Logger,
    private readonly unsubscribe: () => void,
  ) {}

  /** Requests this session sent (reads and writes), for the benchmark. */
  get requestCount(): number {
    return this.lease.connection.requestCount;
  }

  private spec(p: Property): ValueSpec {
    let s = this.specs.get(p);
    if (!s) {
      s = valueSpec(p.visitor, p.model.type);
      this.specs.set(p, s);
    }
    return s;
  }

  async read(properties: readonly Property[], signal: AbortSignal): Promise<Map<string, Reading | Error>> {
    const out = new Map<string, Reading | Error>();
    for (const req of this.plan(properties)) await this.runRead(req, out, signal);
    return out;
  }

  /** The read plan of a property list; cached, as a runtime reads the same lists every cycle. */
  private plan(properties: readonly Property[]): ReadRequest<Property>[] {
    const key = properties.map((p) => p.name).join('\n');
    const cached = this.plans.get(key);
    if (cached && cached.properties.every((p, i) => p === properties[i])) return cached.plan;
    const items = properties.map((p) => {
      const s = this.spec(p);
      return { key: p, table: s.table, address: s.address, count: s.count };
    });
    const plan = planReads(items, {
      maxGap: this.protocol.maxGap,
      maxRegisters: this.protocol.maxRegistersPerRequest,
      maxBits: this.protocol.maxBitsPerRequest,
    });
    if (this.plans.size >= 64) this.plans.clear();
    this.plans.set(key, { properties: [...properties], plan });
    return plan;
  }

  private async runRead(req: ReadRequest<Property>, out: Map<string, Reading | Error>, signal: AbortSignal) {
    const reqKey = `${req.table}:${req.address}:${req.count}`;
    if (req.items.length > 1 && this.splitReads.has(reqKey)) {
      for (const item of req.items) await this.runRead({ ...item, items: [item] }, out, signal);
      return;
    }
    let data: number[] | boolean[];
    try {
      data = await this.readRaw(req.table, req.address, req.count, signal);
    } catch (err) {
      const e = err as EdgeTwinError;
      // A merged read that bridged a hole in the register map: read the members one by one.
      if (req.items.length > 1 && e.code === 'ET_PROTOCOL' && e.details.exceptionCode === 2) {
        this.splitReads.add(reqKey);
        this.logger.info(
          { table: req.table, address: req.address, count: req.count },
          'merged read refused; reading its properties one by one from now on',
        );
        for (const item of req.items) {
          await this.runRead({ ...item, items: [item] }, out, signal);
        }
        return;
      }
      for (const item of req.items) out.set(item.key.name, e);
      return;
    }
    for (const item of req.items) {
      const p = item.key;
      const s = this.spec(p);
      const slice = data.slice(item.address - req.address, item.address - req.address + item.count);
      try {
        const value =
          typeof slice[0] === 'boolean' ? decodeBits(slice as boolean[], s) : decodeRegisters(slice as number[], s);
        out.set(p.name, { value: this.applyDeadband(p, value) });
      } catch (err) {
        out.set(p.name, err as Error);
      }
    }
  }

  private applyDeadband(p: Property, value: TwinValue): TwinValue {
    if (typeof value !== 'number' || !(p.visitor.deadband > 0)) return value;
    const last = this.lastValues.get(p.name);
    if (last !== undefined && Math.abs(value - last) <= p.visitor.deadband) return last;
    this.lastValues.set(p.name, value);
    return value;
  }

  private async readRaw(
    table: RegisterTable,
    address: number,
    count: number,
    signal: AbortSignal,
  ): Promise<number[] | boolean[]> {
    const req: ModbusRequest = { fn: READ_FN[table], slaveId: this.protocol.slaveID, address, count };
    const result = await this.send(req, signal);
    if (!result) throw new EdgeTwinError('ET_INTERNAL', `no data for function ${req.fn}`);
    return result;
  }

  private async send(req: ModbusRequest, signal: AbortSignal) {
    if (this.closed) throw new EdgeTwinError('ET_UNAVAILABLE', 'the Modbus session is closed');
    return await this.lease.connection.request(req, this.protocol.timeout, signal, this.logger);
  }

  async write(property: Property, value: TwinValue, signal: AbortSignal): Promise<Reading | undefined> {
    const s = this.spec(property);
    if (!isWritableTable(s.table)) {
      throw new EdgeTwinError(
        'ET_READ_ONLY',
        `property ${property.name} maps to ${s.table} ${s.address}, which Modbus cannot write; use a HoldingRegister or CoilRegister, or make the property ReadOnly`,
        { details: { property: property.name, table: s.table, address: s.address } },
      );
    }
    const slaveId = this.protocol.slaveID;
    const multiple = property.visitor.writeMultiple;
    const address = s.address;
    if (s.table === 'CoilRegister') {
      const bit = toBit(value, s);
      await this.send(
        multiple ? { fn: 15, slaveId, address, values: [bit] } : { fn: 5, slaveId, address, value: bit },
        signal,
      );
    } else {
      let regs: number[];
      if (s.bit !== undefined) {
        const [current = 0] = (await this.readRaw('HoldingRegister', address, 1, signal)) as number[];
        regs = [toBit(value, s) ? current | (1 << s.bit) : current & ~(1 << s.bit) & 0xffff];
      } else {
        regs = encodeRegisters(value, s);
      }
      const [first = 0] = regs;
      await this.send(
        regs.length === 1 && !multiple
          ? { fn: 6, slaveId, address, value: first }
          : { fn: 16, slaveId, address, values: regs },
        signal,
      );
    }
    this.logger.debug({ property: property.name, table: s.table, address, value }, 'wrote desired value');
    this.lastValues.delete(property.name);
    const back = await this.read([property], signal);
    const reading = back.get(property.name);
    if (reading instanceof Error) throw reading;
    return reading;
  }

  /** The value the registers hold for `value`: float32 rounding, integer registers times `scale`. */
  represent(property: Property, value: TwinValue): TwinValue {
    const s = this.spec(property);
    if (isBitTable(s.table) || s.bit !== undefined || s.dataType === 'string' || s.dataType === 'boolean') return value;
    return decodeRegisters(encodeRegisters(value, s), s);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    await this.lease.release();
  }
}
