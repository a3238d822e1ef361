/**
 * Unmodified zigbee-herdsman against the ZNP emulator: forming and resuming a network, joining and
 * interviewing the simulated devices, their attribute reports, and commands that change them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller, setLogger } from 'zigbee-herdsman';
import { stopProcess, waitFor } from '@edgetwin/sdk/testing';
import { startZnpEmulator, type ZnpEmulator } from '@edgetwin/mapper-zigbee/sim';

const SENSOR = '0x00124b0000000101';
const PLUG = '0x00124b0000000202';
const quiet = () => undefined;

describe('zigbee-herdsman against the ZNP emulator', () => {
  let emu: ZnpEmulator;
  let dir: string;
  let controller: Controller | undefined;
  const messages: { type: string; ieee: string; cluster: string | number; data: unknown }[] = [];

  const newController = () =>
    new Controller({
      network: {
        panID: 0x2345,
        channelList: [15],
        networkKey: [1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 14],
        extendedPanID: [0xdd, 0xee, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66],
      },
      serialPort: { path: emu.url, adapter: 'zstack' },
      databasePath: join(dir, 'database.db'),
      databaseBackupPath: join(dir, 'database.db.backup'),
      backupPath: join(dir, 'backup.json'),
      adapter: { disableLED: true },
      acceptJoiningDeviceHandler: () => Promise.resolve(true),
    });

  beforeAll(async () => {
    setLogger({ debug: quiet, info: quiet, warning: quiet, error: quiet });
    dir = mkdtempSync(join(tmpdir(), 'edgetwin-zigbee-herdsman-'));
    emu = await startZnpEmulator({ reportIntervalMs: 300, joinDelayMs: 100 });
  });

  afterAll(async () => {
    await controller?.stop();
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('forms a new network with the configured PAN id and channel', async () => {
    controller = newController();
    expect(await controller.start()).toBe('reset');
    const params = await controller.getNetworkParameters();
    expect(params).toMatchObject({ panID: 0x2345, channel: 15 });
    expect(emu.received).toContain('bdbStartCommissioning');
  }, 60_000);

  it('resumes the same network after a restart, without commissioning again', async () => {
    await controller!.stop();
    const before = emu.received.filter((n) => n === 'bdbStartCommissioning').length;
    controller = newController();
    expect(await controller.start()).toBe('resumed');
    expect(emu.received.filter((n) => n === 'bdbStartCommissioning').length).toBe(before);
    expect((await controller.getNetworkParameters()).panID).toBe(0x2345);
  }, 60_000);

  it('lets devices join while joining is permitted and interviews them', async () => {
    const c = controller!;
    const interviews: string[] = [];
    c.on('deviceInterview', (p) => interviews.push(`${p.device.ieeeAddr}:${p.status}`));
    c.on('message', (m) => messages.push({ type: m.type, ieee: m.device.ieeeAddr, cluster: m.cluster, data: m.data }));
    await c.permitJoin(60);
    await waitFor(
      () => interviews.includes(`${SENSOR}:successful`) && interviews.includes(`${PLUG}:successful`),
      30_000,
      'both interviews',
    );
    const sensor = c.getDeviceByIeeeAddr(SENSOR)!;
    expect(sensor.modelID).toBe('EdgeTwin-TH-1');
    expect(sensor.manufacturerName).toBe('EdgeTwin');
    expect(sensor.type).toBe('EndDevice');
    expect(
      sensor
        .getEndpoint(1)!
        .getInputClusters()
        .map((cl) => cl.name),
    ).toEqual(expect.arrayContaining(['msTemperatureMeasurement', 'msRelativeHumidity']));
    expect(c.getDeviceByIeeeAddr(PLUG)!.type).toBe('Router');
    await c.permitJoin(0);
  }, 60_000);

  it('receives attribute reports from the sensor, including a value set on the device', async () => {
    await waitFor(
      () => messages.some((m) => m.ieee === SENSOR && m.type === 'attributeReport'),
      10_000,
      'a periodic report',
    );
    emu.setAttribute(SENSOR, 1, 'msTemperatureMeasurement', 'measuredValue', 3050);
    await waitFor(
      () => messages.some((m) => m.ieee === SENSOR && (m.data as { measuredValue?: number }).measuredValue === 3050),
      10_000,
      'the report of 30.50 °C',
    );
  }, 30_000);

  it('switches the plug on and off with genOnOff commands and reads its state back', async () => {
    const ep = controller!.getDeviceByIeeeAddr(PLUG)!.getEndpoint(1)!;
    await ep.command('genOnOff', 'on', {});
    expect(emu.getAttribute(PLUG, 1, 'genOnOff', 'onOff')).toBe(1);
    expect(await ep.read('genOnOff', ['onOff'])).toEqual({ onOff: 1 });
    await ep.command('genOnOff', 'off', {});
    expect(emu.getAttribute(PLUG, 1, 'genOnOff', 'onOff')).toBe(0);
    await ep.command('genLevelCtrl', 'moveToLevelWithOnOff', { level: 100, transtime: 0 });
    expect(await ep.read('genLevelCtrl', ['currentLevel'])).toEqual({ currentLevel: 100 });
  }, 30_000);

  it('reports a read of an attribute the device does not have as a ZCL status error', async () => {
    const ep = controller!.getDeviceByIeeeAddr(PLUG)!.getEndpoint(1)!;
    await expect(ep.read('genOnOff', ['onTime'])).rejects.toThrow(/UNSUPPORTED_ATTRIBUTE/);
  }, 30_000);

  it("restores the network onto a blank replacement coordinator from herdsman's backup", async () => {
    await controller!.stop();
    controller = undefined;
    await emu.stop();
    emu = await startZnpEmulator({ reportIntervalMs: 0 });
    controller = newController();
    expect(await controller.start()).toBe('restored');
    expect(await controller.getNetworkParameters()).toMatchObject({
      panID: 0x2345,
      channel: 15,
      extendedPanID: '0xddee112233445566',
    });
    expect(controller.getDeviceByIeeeAddr(PLUG)?.modelID).toBe('EdgeTwin-PLUG-1');
  }, 60_000);
});

describe('the edgetwin-znp-emulator command', () => {
  const bin = join(import.meta.dirname, '..', 'dist', 'sim', 'bin.js');
  let dir: string;
  let child: ChildProcess | undefined;

  afterAll(async () => {
    if (child) await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the command and returns the URL it prints. */
  async function run(args: string[]): Promise<string> {
    const c = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let out = '';
    c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    return waitFor(() => /ZNP emulator on (tcp:\/\/\S+)/.exec(out)?.[1], 15_000, 'the emulator to print its URL');
  }

  it('serves herdsman on the port it prints and keeps the network across its own restart with --state', async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgetwin-znp-cli-'));
    const state = join(dir, 'emulator-state.json');
    const options = (url: string) => ({
      network: {
        panID: 0x1111,
        channelList: [20],
        networkKey: [...Array(16).keys()],
        extendedPanID: [1, 2, 3, 4, 5, 6, 7, 8],
      },
      serialPort: { path: url, adapter: 'zstack' as const },
      databasePath: join(dir, 'database.db'),
      databaseBackupPath: join(dir, 'database.db.backup'),
      backupPath: join(dir, 'backup.json'),
      adapter: { disableLED: true },
      acceptJoiningDeviceHandler: () => Promise.resolve(true),
    });
    let url = await run(['--port', '0', '--state', state, '--log-level', 'warn']);
    let c = new Controller(options(url));
    expect(await c.start()).toBe('reset');
    await c.stop();
    await stopProcess(child!);

    url = await run(['--port', '0', '--state', state, '--log-level', 'warn']);
    c = new Controller(options(url));
    expect(await c.start()).toBe('resumed');
    expect((await c.getNetworkParameters()).channel).toBe(20);
    await c.stop();
  }, 90_000);
});
