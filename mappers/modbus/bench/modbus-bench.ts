/**
 * npm run bench:modbus — 100 holding-register properties on one slave of the simulator, read with
 * the planner and with one request per property. Prints requests per cycle, cycle time and
 * registers read per second, on loopback and with a simulated device answering 2 ms late.
 */
import pino from 'pino';
import { parseWithSchema } from '@edgetwin/sdk';
import { type MapperDevice, type MapperProperty } from '@edgetwin/sdk/mapper';
import {
  ModbusProtocolConfigSchema,
  ModbusVisitorConfigSchema,
  type ModbusProtocolConfig,
  type ModbusVisitorConfig,
} from '../src/config.js';
import { createModbusDriver } from '../src/driver/driver.js';
import type { ModbusSession } from '../src/driver/session.js';
import { startModbusSimulator } from '../sim/simulator.js';

const PROPERTIES = 100;
const logger = pino({ level: 'silent' });

interface Result {
  requestsPerCycle: number;
  cycleMs: number;
  registersPerSecond: number;
}

function makeDevice(port: number): MapperDevice<ModbusProtocolConfig, ModbusVisitorConfig> {
  // Mixed widths, as real register maps are: int16, uint16 and float32 values side by side.
  const properties: MapperProperty<ModbusVisitorConfig>[] = [];
  let offset = 0;
  for (let i = 0; i < PROPERTIES; i++) {
    const dataType = i % 3 === 2 ? 'float32' : i % 3 === 1 ? 'uint16' : 'int16';
    properties.push({
      name: `p${i}`,
      model: { name: `p${i}`, type: dataType === 'float32' ? 'FLOAT' : 'INT', accessMode: 'ReadOnly' },
      visitor: parseWithSchema(ModbusVisitorConfigSchema, { register: 'HoldingRegister', offset, dataType }, `p${i}`),
      collectCycle: 1000,
      reportCycle: 1000,
    });
    offset += dataType === 'float32' ? 2 : 1;
  }
  return {
    id: 'default/bench',
    namespace: 'default',
    name: 'bench',
    protocol: parseWithSchema(ModbusProtocolConfigSchema, { ip: '127.0.0.1', port, slaveID: 1 }, 'bench'),
    properties,
    device: {
      apiVersion: 'devices.kubeedge.io/v1beta1',
      kind: 'Device',
      metadata: { name: 'bench' },
      spec: { deviceModelRef: { name: 'bench' }, properties: [] },
    },
    model: {
      apiVersion: 'devices.kubeedge.io/v1beta1',
      kind: 'DeviceModel',
      metadata: { name: 'bench' },
      spec: { properties: properties.map((p) => p.model) },
    },
  };
}

async function measure(delayMs: number, planned: boolean, cycles: number): Promise<Result> {
  const sim = await startModbusSimulator({ slaves: [{ id: 1, delayMs }] }, { port: 0 });
  const driver = createModbusDriver({ logger });
  const dev = makeDevice(sim.port!);
  const session = (await driver.connect(
    dev,
    { onLost: () => undefined, onReading: () => undefined },
    AbortSignal.timeout(5000),
  )) as ModbusSession;
  const registers = dev.properties.reduce((n, p) => n + (p.visitor.dataType === 'float32' ? 2 : 1), 0);
  const cycle = async () => {
    const signal = AbortSignal.timeout(30_000);
    if (planned) {
      const r = await session.read(dev.properties, signal);
      if ([...r.values()].some((v) => v instanceof Error)) throw new Error('a read failed');
    } else {
      for (const p of dev.properties) {
        const r = await session.read([p], signal);
        if (r.get(p.name) instanceof Error) throw new Error('a read failed');
      }
    }
  };
  try {
    await cycle(); // warm up
    const before = session.requestCount;
    const started = performance.now();
    for (let i = 0; i < cycles; i++) await cycle();
    const elapsed = performance.now() - started;
    const cycleMs = elapsed / cycles;
    return {
      requestsPerCycle: (session.requestCount - before) / cycles,
      cycleMs,
      registersPerSecond: (registers * 1000) / cycleMs,
    };
  } finally {
    await session.close();
    await driver.stop();
    await sim.stop();
  }
}

function row(label: string, r: Result): string {
  return `${label.padEnd(28)} ${String(r.requestsPerCycle).padStart(8)} ${r.cycleMs.toFixed(2).padStart(12)} ${Math.round(r.registersPerSecond).toString().padStart(14)}`;
}

async function main(): Promise<void> {
  console.log(
    `Modbus read planner benchmark: ${PROPERTIES} holding-register properties on one slave (simulator, TCP loopback)`,
  );
  for (const delayMs of [0, 2]) {
    const cycles = delayMs === 0 ? 500 : 10;
    const planned = await measure(delayMs, true, cycles);
    const single = await measure(delayMs, false, cycles);
    console.log(`\ndevice answer delay ${delayMs} ms, ${cycles} cycles`);
    console.log(
      `${'mode'.padEnd(28)} ${'req/cycle'.padStart(8)} ${'cycle ms'.padStart(12)} ${'registers/s'.padStart(14)}`,
    );
    console.log(row('planner (merged reads)', planned));
    console.log(row('one request per property', single));
    console.log(
      `=> ${(single.requestsPerCycle / planned.requestsPerCycle).toFixed(1)}x fewer requests, ${(single.cycleMs / planned.cycleMs).toFixed(1)}x shorter cycles`,
    );
  }
}

await main();
