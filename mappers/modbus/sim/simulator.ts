/**
 * The Modbus simulator: slaves from a YAML config served over TCP and/or RTU, with drifting
 * registers. `startModbusSimulator` is the library entry point; `edgetwin-modbus-sim` the command.
 */
import { loadSimulatorConfig, parseSimulatorConfig, type SimRegister, type SimulatorConfigInput } from './config.js';
import { startRtuServer, type RtuServerHandle } from './rtu-server.js';
import { SimSlave } from './slave.js';
import { startTcpServer, type TcpServerHandle } from './tcp-server.js';

export interface SimulatorOptions {
  /** TCP port; 0 picks a free one. TCP is served when this is set or when no serialPath is given. */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Serial device or pty to serve RTU on. */
  serialPath?: string;
  baudRate?: number;
  /** Random source for drift (default Math.random), injectable for tests. */
  random?: () => number;
}

export interface ModbusSimulator {
  /** The TCP port, when TCP is served. */
  port: number | undefined;
  serialPath: string | undefined;
  /** A slave by unit id; throws when the config has none. */
  slave(id: number): SimSlave;
  stop(): Promise<void>;
}

function startDrift(slave: SimSlave, reg: SimRegister, random: () => number): NodeJS.Timeout | undefined {
  const d = reg.drift;
  if (!d || !reg.name) return undefined;
  const name = reg.name;
  const timer = setInterval(() => {
    const current = Number(slave.getValue(name));
    let next: number;
    if (d.follow !== undefined) {
      const target = Number(slave.getValue(d.follow));
      const diff = target - current;
      next = current + Math.sign(diff) * Math.min(d.step, Math.abs(diff));
    } else {
      next = current + (random() * 2 - 1) * d.step;
    }
    next = Math.min(d.max, Math.max(d.min, next));
    if (reg.type !== 'float32' && reg.type !== 'float64') next = Math.round(next / reg.scale) * reg.scale;
    slave.setValue(name, next);
  }, d.intervalMs);
  timer.unref();
  return timer;
}

/**
 * Starts the simulator from a config object or a YAML file path. Stop it with `stop()`, which
 * closes the TCP server, the serial port and every drift timer.
 */
export async function startModbusSimulator(
  config: SimulatorConfigInput | string,
  opts: SimulatorOptions = {},
): Promise<ModbusSimulator> {
  const cfg = typeof config === 'string' ? loadSimulatorConfig(config) : parseSimulatorConfig(config);
  const slaves = new Map<number, SimSlave>();
  for (const s of cfg.slaves) slaves.set(s.id, new SimSlave(s));
  const random = opts.random ?? Math.random;
  const timers: NodeJS.Timeout[] = [];
  for (const s of cfg.slaves) {
    const slave = slaves.get(s.id);
    if (!slave) continue;
    for (const r of [...s.holdingRegisters, ...s.inputRegisters]) {
      const t = startDrift(slave, r, random);
      if (t) timers.push(t);
    }
  }
  let tcp: TcpServerHandle | undefined;
  let rtu: RtuServerHandle | undefined;
  const stop = async () => {
    for (const t of timers) clearInterval(t);
    await Promise.all([tcp?.close(), rtu?.close()]);
  };
  try {
    if (opts.port !== undefined || opts.serialPath === undefined) {
      tcp = await startTcpServer(slaves, opts.port ?? 0, opts.host ?? '127.0.0.1');
    }
    if (opts.serialPath !== undefined) rtu = await startRtuServer(slaves, opts.serialPath, opts.baudRate ?? 19200);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port: tcp?.port,
    serialPath: rtu?.path,
    slave(id) {
      const s = slaves.get(id);
      if (!s) throw new Error(`the simulator has no slave ${id} (it has ${[...slaves.keys()].join(', ')})`);
      return s;
    },
    stop,
  };
}
