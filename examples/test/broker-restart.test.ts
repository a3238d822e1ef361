/**
 * A restarted broker without persistence loses every retained message, the mapper specs
 * included. edgecore publishes them again when it reconnects, so a mapper killed afterwards and
 * restarted by edgecore's supervisor gets its devices back and values flow again. Peers:
 * Mosquitto (restarted on the same port), the Modbus simulator as the device, Debian's mbpoll
 * changing the register as an independent Modbus master.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModbusSimulator, type ModbusSimulator } from '@edgetwin/mapper-modbus/sim';
import {
  MosquittoSub,
  freePort,
  missingPeer,
  signalPid,
  startMosquitto,
  stopProcess,
  waitFor,
  type RunningPeer,
} from '@edgetwin/sdk/testing';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../core/bin/edgetwin.js');
const skip = missingPeer('mosquitto', 'mosquitto_sub', 'mosquitto_pub', 'mbpoll');

const yaml = (modbusPort: number) => `apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: { name: boiler-model, namespace: default }
spec:
  protocol: modbus
  properties:
    - name: target
      type: INT
      accessMode: ReadWrite
      visitors:
        protocolName: modbus
        configData: { register: HoldingRegister, offset: 102, dataType: uint16 }
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: { name: boiler, namespace: default }
spec:
  deviceModelRef: { name: boiler-model }
  nodeName: edge-1
  protocol:
    protocolName: modbus
    configData: { communicateMode: TCP, ip: 127.0.0.1, port: ${modbusPort}, slaveID: 5 }
  properties:
    - { name: target, collectCycle: 200, reportCycle: 200 }
`;

interface Twin {
  state: string;
  reported: Record<string, { value: unknown }>;
}

describe.skipIf(skip)('after Mosquitto restarts without persistence', () => {
  let broker: RunningPeer;
  let sim: ModbusSimulator;
  let edgecore: ChildProcess;
  let logs = '';
  let httpPort = 0;
  let modbusPort = 0;
  const dir = mkdtempSync(join(tmpdir(), 'edgetwin-broker-restart-'));
  const twin = async () =>
    (await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/devices/default/boiler/twin`)).json()) as Twin;
  const reportedTarget = async () => (await twin()).reported.target?.value;

  beforeAll(async () => {
    broker = await startMosquitto();
    sim = await startModbusSimulator({
      slaves: [{ id: 5, holdingRegisters: [{ address: 102, name: 'target', type: 'uint16', value: 60 }] }],
    });
    modbusPort = sim.port ?? 0;
    writeFileSync(join(dir, 'boiler.yaml'), yaml(modbusPort));
    httpPort = await freePort();
    edgecore = spawn(
      process.execPath,
      [
        CLI,
        'edge',
        '--devices',
        dir,
        '--data-dir',
        join(dir, 'data'),
        '--node-name',
        'edge-1',
        '--mqtt-url',
        broker.url,
        '--http-port',
        String(httpPort),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    edgecore.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    edgecore.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  }, 60_000);

  afterAll(async () => {
    if (edgecore) await stopProcess(edgecore, 10_000);
    await sim?.stop();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The pid of the supervised Modbus mapper, from edgecore's log, after `from` in it. */
  const mapperPid = (from: number): number | undefined => {
    for (const line of logs.slice(from).split('\n')) {
      if (!line.includes('mapper for modbus started')) continue;
      const pid = (JSON.parse(line) as { pid?: number }).pid;
      if (pid) return pid;
    }
    return undefined;
  };

  it('a mapper killed afterwards is restarted with its devices, and values flow again within 10 s', async () => {
    await waitFor(async () => (await reportedTarget().catch(() => undefined)) === 60, 60_000, 'the first report').catch(
      (err: unknown) => {
        throw new Error(`${(err as Error).message}; edgecore output:\n${logs.slice(-4000)}`);
      },
    );
    const firstPid = mapperPid(0)!;
    expect(firstPid).toEqual(expect.any(Number));

    // Mosquitto restarts on the same port, with nothing retained.
    const port = broker.port;
    await broker.stop();
    const mark = logs.length;
    broker = await startMosquitto({ port });
    await waitFor(() => logs.slice(mark).includes('reconnected to the MQTT broker'), 30_000, 'edgecore to reconnect');
    const states = await MosquittoSub.start(port, 'devices/default/boiler/state');
    try {
      // The mapper dies without a word (as with kill -9); edgecore's supervisor restarts it.
      const killedAt = logs.length;
      signalPid(firstPid, 'SIGKILL');
      // Meanwhile the device changes, seen by nobody but the device itself.
      await run(
        'mbpoll',
        ['-m', 'tcp', '-p', String(modbusPort), '-a', '5', '-0', '-r', '102', '-t', '4', '-1', '127.0.0.1', '77'],
        {
          timeout: 10_000,
        },
      );
      await waitFor(
        async () => (await reportedTarget()) === 77,
        10_000,
        'the new value through the restarted mapper',
      ).catch((err: unknown) => {
        throw new Error(
          `${(err as Error).message}; edgecore output since the kill:\n${logs.slice(killedAt).slice(-4000)}`,
        );
      });
      expect(mapperPid(killedAt)).not.toBe(firstPid);
      // While no mapper served it, the device was not shown online.
      expect(states.on('devices/default/boiler/state').some((m) => m.json().state === 'offline')).toBe(true);
      await waitFor(async () => (await twin()).state === 'online', 10_000, 'the device online again');
    } finally {
      await states.stop();
    }
  }, 120_000);
});
