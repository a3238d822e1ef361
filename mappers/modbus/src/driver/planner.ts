/**
 * The read planner: values of the same table are merged into as few requests as possible, within
 * Modbus limits (125 registers or 2000 bits per request), bridging gaps of unused addresses up to
 * `maxGap` registers (16 times as many bits for coil and discrete-input tables).
 */
import { isBitTable, type RegisterTable } from '../config.js';

export interface PlanItem<K> {
  key: K;
  table: RegisterTable;
  address: number;
  count: number;
}

export interface ReadRequest<K> {
  table: RegisterTable;
  address: number;
  count: number;
  items: PlanItem<K>[];
}

export interface PlanOptions {
  /** Unused registers a merged read may span (default 10). */
  maxGap?: number;
  /** Largest register read (default and protocol maximum 125). */
  maxRegisters?: number;
  /** Largest bit read (default and protocol maximum 2000). */
  maxBits?: number;
}

const TABLE_ORDER: readonly RegisterTable[] = [
  'HoldingRegister',
  'InputRegister',
  'CoilRegister',
  'DiscreteInputRegister',
];

export function planReads<K>(items: readonly PlanItem<K>[], opts: PlanOptions = {}): ReadRequest<K>[] {
  const maxGap = opts.maxGap ?? 10;
  const requests: ReadRequest<K>[] = [];
  for (const table of TABLE_ORDER) {
    const bits = isBitTable(table);
    const limit = bits ? Math.min(opts.maxBits ?? 2000, 2000) : Math.min(opts.maxRegisters ?? 125, 125);
    const gap = bits ? maxGap * 16 : maxGap;
    const sorted = items.filter((i) => i.table === table).sort((a, b) => a.address - b.address || b.count - a.count);
    let current: ReadRequest<K> | undefined;
    for (const item of sorted) {
      const end = item.address + item.count;
      if (current) {
        const curEnd = current.address + current.count;
        const newEnd = Math.max(curEnd, end);
        if (item.address - curEnd <= gap && newEnd - current.address <= limit) {
          current.count = newEnd - current.address;
          current.items.push(item);
          continue;
        }
      }
      current = { table, address: item.address, count: item.count, items: [item] };
      requests.push(current);
    }
  }
  return requests;
}
