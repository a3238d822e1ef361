/**
 * The Modbus simulator, checked by an independent master (Debian's mbpoll) over TCP and RTU, and
 * driven by the mapper's driver; its YAML behaviours (drift, a setpoint to follow) and its command.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, missingPeer, stopProcess, waitFor, waitForPort } from '@edgetwin/sdk/testing';
import { createModbusDriver } from '@edgetwin/mapper-modbus';
import { startModbusSimulator, type ModbusSimulator } from '@edgetwin/mapper-modbus/sim';
import { device, hooks, logger, values } from './helpers/devices.js';
import { mbpollValues, run, startPtyPair, type PtyPair } from './helpers/peers.js';

const EXAMPLE = fileURLToPath(new URL('../examples/thermostat.sim.yaml', import.meta.url));
const skipTcp = missingPeer('mbpoll');
const skipRtu = missingPeer('mbpoll', 'socat');

describe.skipIf(skipTcp)('simulator over Modbus TCP', () => {
  let sim: ModbusSimulator;
  const mbpoll = (args: string[], write: string[] = []) =>
    run('mbpoll', ['-m', 'tcp', '-p', String(sim.port), '-0', '-1', ...args, '127.0.0.1', ...write]);

  beforeAll(async () => {
    sim = await startModbusSimulator(EXAMPLE);
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('mbpoll reads the registers, coils and inputs the YAML defines', async () => {
    sim.slave(1).setValue('setpoint', 22);
    expect(mbpollValues(await mbpoll(['-a', '1', '-r', '1', '-c', '1', '-t', '4']))).toEqual(['220']);
    expect(mbpollValues(await mbpoll(['-a', '1', '-r', '2', '-c', '1', '-t', '4:float', '-B']))[0]).toMatch(
      /^\d+(\.\d+)?$/,
    );
    expect(mbpollValues(await mbpoll(['-a', '2', '-r', '0', '-c', '1', '-t', '3:int', '-B']))).toEqual(['123456']);
    expect(mbpollValues(await mbpoll(['-a', '1', '-r', '0', '-c', '1', '-t', '0']))).toEqual(['0']);
    expect(mbpollValues(await mbpoll(['-a', '1', '-r', '0', '-c', '1', '-t', '1']))).toEqual(['0']);
  });

  it('mbpoll writes the setpoint register and the heater coil', async () => {
    await mbpoll(['-a', '1', '-r', '1', '-t', '4', '-q'], ['185']);
    await mbpoll(['-a', '1', '-r', '0', '-t', '0', '-q'], ['1']);
    expect(sim.slave(1).getValue('setpoint')).toBe(18.5);
    expect(sim.slave(1).getBit('coil', 0)).toBe(true);
  });

  it('answers an address outside the map with exception 2, which mbpoll reports', async () => {
    await expect(mbpoll(['-a', '1', '-r', '20000', '-c', '1', '-t', '4'])).rejects.toThrow(/Illegal data address/i);
  });

  it('the temperature drifts towards a new setpoint', async () => {
    const slave = sim.slave(1);
    slave.setValue('temperature', 20);
    slave.setValue('setpoint', 21);
    await waitFor(() => Number(slave.getValue('temperature')) > 20, 10_000, 'the temperature to rise');
    await waitFor(() => slave.getValue('temperature') === 21, 15_000, 'the temperature to reach the setpoint');
  });

  it('a deadband keeps the last value until the device value moves beyond it', async () => {
    const driver = createModbusDriver({ logger });
    const dev = device('deadband', { ip: '127.0.0.1', port: sim.port }, [
      {
        name: 'setpoint',
        type: 'FLOAT',
        visitor: { register: 'HoldingRegister', offset: 1, dataType: 'int16', scale: 0.1, deadband: 0.5 },
      },
    ]);
    const session = await driver.connect(dev, hooks(), AbortSignal.timeout(5000));
    const read = async () => values(await session.read!(dev.properties, AbortSignal.timeout(5000))).setpoint;
    try {
      sim.slave(1).setValue('setpoint', 20);
      expect(await read()).toBe(20);
      sim.slave(1).setValue('setpoint', 20.4);
      expect(await read()).toBe(20);
      sim.slave(1).setValue('setpoint', 19.6);
      expect(await read()).toBe(20);
      sim.slave(1).setValue('setpoint', 20.7);
      expect(await read()).toBe(20.7);
    } finally {
      await session.close();
      await driver.stop();
    }
  });

  it('the mapper driver reads and writes the simulator, and a muted slave times out', async () => {
    const driver = createModbusDriver({ logger });
    const props = [
      {
        name: 'setpoint',
        type: 'FLOAT' as const,
        visitor: { register: 'HoldingRegister', offset: 1, dataType: 'int16', scale: 0.1 },
      },
      { name: 'model', type: 'STRING' as const, visitor: { register: 'HoldingRegister', offset: 10, limit: 4 } },
      { name: 'heater', type: 'BOOLEAN' as const, visitor: { register: 'CoilRegister', offset: 0 } },
    ];
    const dev = device('thermostat', { ip: '127.0.0.1', port: sim.port, timeout: 300 }, props);
    const session = await driver.connect(dev, hooks(), AbortSignal.timeout(5000));
    try {
      const back = await session.write(dev.properties[0]!, 23.5, AbortSignal.timeout(5000));
      expect(back?.value).toBe(23.5);
      expect(sim.slave(1).getValue('setpoint')).toBe(23.5);
      await session.write(dev.properties[2]!, false, AbortSignal.timeout(5000));
      expect(values(await session.read!(dev.properties, AbortSignal.timeout(5000)))).toEqual({
        setpoint: 23.5,
        model: 'TH-100',
        heater: false,
      });
      sim.slave(1).responding = false;
      const r = await session.read!(dev.properties, AbortSignal.timeout(5000));
      // One merged register read times out; the coil read after it is not sent while the slave backs off.
      expect(values(r)).toEqual({
        setpoint: 'Error(ET_TIMEOUT)',
        model: 'Error(ET_TIMEOUT)',
        heater: 'Error(ET_UNAVAILABLE)',
      });
    } finally {
      sim.slave(1).responding = true;
      await session.close();
      await driver.stop();
    }
  });
});

describe.skipIf(skipRtu)('simulator over Modbus RTU', () => {
  let pty: PtyPair;
  let sim: ModbusSimulator;

  beforeAll(async () => {
    pty = await startPtyPair();
    sim = await startModbusSimulator(EXAMPLE, { serialPath: pty.b, baudRate: 19200 });
  });
  afterAll(async () => {
    await sim?.stop();
    await pty?.stop();
  });

  it('mbpoll reads and writes the simulator over a serial line', async () => {
    const rtu = ['-m', 'rtu', '-b', '19200', '-P', 'none', '-0', '-1'];
    sim.slave(1).setValue('setpoint', 20);
    expect(mbpollValues(await run('mbpoll', [...rtu, '-a', '1', '-r', '1', '-c', '1', '-t', '4', pty.a]))).toEqual([
      '200',
    ]);
    await run('mbpoll', [...rtu, '-a', '1', '-r', '1', '-t', '4', '-q', pty.a, '215']);
    expect(sim.slave(1).getValue('setpoint')).toBe(21.5);
  });

  it('the mapper driver reads two slaves over RTU', async () => {
    const driver = createModbusDriver({ logger });
    const rtu = (slaveID: number) => ({
      communicateMode: 'RTU',
      serialPort: pty.a,
      baudRate: 19200,
      parity: 'none',
      slaveID,
    });
    const t = device('thermostat', rtu(1), [
      { name: 'model', type: 'STRING', visitor: { register: 'HoldingRegister', offset: 10, limit: 4 } },
    ]);
    const m = device('meter', rtu(2), [
      {
        name: 'energy',
        type: 'INT',
        readOnly: true,
        visitor: { register: 'InputRegister', offset: 0, dataType: 'uint32' },
      },
    ]);
    const st = await driver.connect(t, hooks(), AbortSignal.timeout(5000));
    const sm = await driver.connect(m, hooks(), AbortSignal.timeout(5000));
    try {
      const [a, b] = await Promise.all([
        st.read!(t.properties, AbortSignal.timeout(5000)),
        sm.read!(m.properties, AbortSignal.timeout(5000)),
      ]);
      expect(values(a)).toEqual({ model: 'TH-100' });
      expect(values(b)).toEqual({ energy: 123456 });
    } finally {
      await st.close();
      await sm.close();
      await driver.stop();
    }
  });
});

describe.skipIf(skipTcp)('edgetwin-modbus-sim command', () => {
  it('serves a YAML file on the given port until SIGTERM, and names a bad field in the file', async () => {
    const bin = fileURLToPath(new URL('../dist/sim/bin.js', import.meta.url));
    const port = await freePort();
    const child = spawn(process.execPath, [bin, '--config', EXAMPLE, '--port', String(port)], { stdio: 'ignore' });
    try {
      await waitForPort(port, 15_000);
      const out = await run('mbpoll', [
        '-m',
        'tcp',
        '-p',
        String(port),
        '-0',
        '-1',
        '-a',
        '1',
        '-r',
        '10',
        '-c',
        '2',
        '-t',
        '4',
        '127.0.0.1',
      ]);
      expect(mbpollValues(out)).toEqual([String(0x5448), String(0x2d31)]); // "TH" "-1"
    } finally {
      await stopProcess(child);
    }
    const dir = mkdtempSync(join(tmpdir(), 'edgetwin-sim-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'slaves:\n  - id: 1\n    holdingRegisters:\n      - { address: 0, type: int17 }\n');
    await expect(run(process.execPath, [bin, '--config', bad, '--port', '0'])).rejects.toThrow(
      /bad\.yaml: field \/slaves\/0\/holdingRegisters\/0\/type/,
    );
  });
});
