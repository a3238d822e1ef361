/**
 * The ZigBee mapper run by the sdk runtime against the sdk's DMI side (edgecore's part of DMI),
 * Mosquitto (the driver's own topics) and the ZNP emulator: pairing over MQTT, reports into the
 * twin over DMI, desired values (UpdateDevice) as commands, undeclared
 * devices listed, and the coordinator lost and found again without a process restart.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMapper, type MapperHandle } from '@edgetwin/sdk/mapper';
import {
  captureLogs,
  missingPeer,
  startMosquitto,
  DmiSide,
  waitFor,
  type CapturedLogs,
  type RunningPeer,
} from '@edgetwin/sdk/testing';
import {
  permitJoinOverMqtt,
  zigbeeMapper,
  zigbeeTopics,
  type PermitJoinResult,
  type UndeclaredDevice,
} from '@edgetwin/mapper-zigbee';
import { onOffPlug, startZnpEmulator, temperatureHumiditySensor, type ZnpEmulator } from '@edgetwin/mapper-zigbee/sim';
import { PLUG_IEEE, SENSOR_IEEE, plugDevice, plugModel, sensorDevice, sensorModel } from './fixtures.js';

const execFileAsync = promisify(execFile);
const NODE = 'zigbee-node';
const STRAY_IEEE = '0x00124b0000000909';
const sensor = { namespace: 'default', name: 'th-sensor' };
const plug = { namespace: 'default', name: 'plug' };
const skip = missingPeer('mosquitto');

describe.skipIf(skip !== undefined)('zigbee mapper with the ZNP emulator', () => {
  let broker: RunningPeer;
  let twin: DmiSide;
  let emu: ZnpEmulator;
  let handle: MapperHandle | undefined;
  let logs: CapturedLogs;
  let dataDir: string;
  let watcher: MqttClient;
  let undeclared: UndeclaredDevice[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    twin = await DmiSide.start({ nodeName: NODE });
    emu = await startZnpEmulator({
      reportIntervalMs: 400,
      joinDelayMs: 100,
      devices: [temperatureHumiditySensor(), onOffPlug(), temperatureHumiditySensor(STRAY_IEEE, 0x3c03)],
    });
    watcher = await connectAsync(broker.url);
    watcher.on('message', (topic, payload) => {
      if (topic === zigbeeTopics.undeclared(NODE))
        undeclared = (JSON.parse(payload.toString()) as { devices: UndeclaredDevice[] }).devices;
    });
    await watcher.subscribeAsync(zigbeeTopics.undeclared(NODE));
    await twin.publishSpec(sensorDevice(), sensorModel(emu.url));
    await twin.publishSpec(plugDevice(), plugModel(emu.url));
    logs = captureLogs('debug');
    dataDir = mkdtempSync(join(tmpdir(), 'edgetwin-zigbee-mapper-'));
    handle = await runMapper(zigbeeMapper(), {
      dmiSocket: twin.socketPath,
      mqttUrl: broker.url,
      nodeName: NODE,
      dataDir,
      logger: logs.logger,
      backoff: { initialMs: 200, maxMs: 1000 },
      callTimeoutMs: 10_000,
    });
  }, 90_000);

  afterAll(async () => {
    await handle?.stop();
    await watcher?.endAsync(true);
    await twin?.stop();
    await emu?.stop();
    await broker?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('forms the network on first start and keeps the network key in the data dir, never in the log', async () => {
    await waitFor(() => logs.find('ZigBee network formed').length > 0, 30_000, 'the network to form');
    const dir = readdirSync(dataDir).find((d) => d.startsWith('coordinator-'))!;
    const secrets = JSON.parse(readFileSync(join(dataDir, dir, 'network-key.json'), 'utf8')) as {
      networkKey: number[];
    };
    expect(secrets.networkKey).toHaveLength(16);
    const hex = Buffer.from(secrets.networkKey).toString('hex');
    const leaked = logs.records.filter((r) => {
      const line = JSON.stringify(r);
      return (
        line.includes(hex) ||
        line.includes(secrets.networkKey.join(',')) ||
        line.includes(secrets.networkKey.join(', '))
      );
    });
    expect(leaked).toEqual([]);
  }, 40_000);

  it('answers a permit_join request on the result topic and the declared devices pair and are interviewed', async () => {
    await waitFor(
      () => logs.find('has not joined coordinator').length > 0,
      30_000,
      'the mapper to notice the devices are missing',
    );
    const result: PermitJoinResult = await permitJoinOverMqtt({ mqttUrl: broker.url, nodeName: NODE, seconds: 30 });
    expect(result).toMatchObject({ ok: true, seconds: 30, coordinators: [emu.url] });
    await waitFor(
      () => logs.find(`interview of ZigBee device ${SENSOR_IEEE} succeeded`).length > 0,
      30_000,
      'the sensor interview',
    );
    await waitFor(
      () => logs.find(`interview of ZigBee device ${PLUG_IEEE} succeeded`).length > 0,
      30_000,
      'the plug interview',
    );
  }, 70_000);

  it('the permit-join CLI command asks the running mapper and prints its answer', async () => {
    const cli = join(import.meta.dirname, '..', 'dist', 'src', 'bin.js');
    // Asynchronous: the mapper answering runs in this process.
    const run = await execFileAsync(
      process.execPath,
      [cli, 'permit-join', '--seconds', '0', '--mqtt-url', broker.url, '--node-name', NODE],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, seconds: 0, coordinators: [emu.url] });
    await waitFor(() => logs.find('joining closed').length > 0, 10_000, 'the mapper to log that joining closed');
  }, 30_000);

  it('refuses a malformed permit_join request with a reason on the result topic', async () => {
    const answers: PermitJoinResult[] = [];
    const c = await connectAsync(broker.url);
    c.on('message', (_t, p) => answers.push(JSON.parse(p.toString()) as PermitJoinResult));
    await c.subscribeAsync(zigbeeTopics.permitJoinResult(NODE));
    await c.publishAsync(zigbeeTopics.permitJoin(NODE), JSON.stringify({ seconds: 999 }));
    const refused = await waitFor(() => answers.find((a) => !a.ok), 10_000, 'a refusal');
    expect(refused.code).toBe('ET_SCHEMA');
    expect(refused.reason).toContain('seconds');
    await c.endAsync(true);
  });

  it('lists a device that joined but is not declared on the retained undeclared topic and warns about it', async () => {
    await waitFor(
      () => undeclared.some((d) => d.ieeeAddress === STRAY_IEEE),
      30_000,
      'the stray sensor on the undeclared topic',
    );
    const stray = undeclared.find((d) => d.ieeeAddress === STRAY_IEEE)!;
    expect(stray).toMatchObject({ modelId: 'EdgeTwin-TH-1', coordinator: emu.url });
    expect(undeclared.map((d) => d.ieeeAddress)).not.toContain(SENSOR_IEEE);
    expect(logs.find(`ZigBee device ${STRAY_IEEE} joined but no Device declares it`).length).toBe(1);
  }, 40_000);

  it('reports sensor attribute reports as scaled twin values, and a new reading promptly', async () => {
    await waitFor(() => twin.reported(sensor, 'temperature') !== undefined, 30_000, 'a temperature report');
    await waitFor(() => twin.reported(sensor, 'humidity') !== undefined, 30_000, 'a humidity report');
    expect(Number(twin.reported(sensor, 'temperature'))).toBeGreaterThan(15);
    expect(Number(twin.reported(sensor, 'temperature'))).toBeLessThan(30);
    emu.setAttribute(SENSOR_IEEE, 1, 'msTemperatureMeasurement', 'measuredValue', 3050);
    await waitFor(() => twin.reported(sensor, 'temperature') === '30.5', 15_000, 'temperature 30.5');
    await waitFor(() => twin.states(sensor).includes('online'), 15_000, 'sensor online');
  }, 50_000);

  it('switches the plug with a desired value: the device obeys and the value read back is reported', async () => {
    await waitFor(() => twin.reported(plug, 'power') === 'false', 30_000, 'the plug to report power off');
    await waitFor(() => twin.reported(plug, 'model') === 'EdgeTwin-PLUG-1', 15_000, 'the model id');
    await twin.setDesired(plug, 'power', 'true');
    await waitFor(() => emu.getAttribute(PLUG_IEEE, 1, 'genOnOff', 'onOff') === 1, 15_000, 'the plug to turn on');
    await waitFor(() => twin.reported(plug, 'power') === 'true', 15_000, 'power reported true');
    await twin.setDesired(plug, 'level', '40');
    await waitFor(
      () => emu.getAttribute(PLUG_IEEE, 1, 'genLevelCtrl', 'currentLevel') === 40,
      15_000,
      'level 40 on the plug',
    );
    await waitFor(() => twin.reported(plug, 'level') === '40', 15_000, 'level reported 40');
  }, 60_000);

  it('marks devices unhealthy while the coordinator is gone and recovers them in place when it returns', async () => {
    const statesBefore = twin.states(sensor).length;
    await emu.stop();
    await waitFor(
      () => logs.find('lost the connection to ZigBee coordinator').length > 0,
      20_000,
      'the loss to be logged',
    );
    await waitFor(() => twin.states(sensor).slice(statesBefore).includes('unhealthy'), 20_000, 'sensor unhealthy');
    await waitFor(() => twin.states(plug).includes('unhealthy'), 20_000, 'plug unhealthy');
    expect(twin.states(sensor).slice(statesBefore)).not.toContain('offline');
    expect(handle!.connected()).toBe(true);

    await emu.start();
    await waitFor(() => twin.states(sensor).slice(statesBefore).includes('online'), 40_000, 'sensor online again');
    emu.setAttribute(SENSOR_IEEE, 1, 'msTemperatureMeasurement', 'measuredValue', 1990);
    await waitFor(() => twin.reported(sensor, 'temperature') === '19.9', 20_000, 'a report after the reconnect');
    await twin.setDesired(plug, 'power', 'false');
    await waitFor(
      () => emu.getAttribute(PLUG_IEEE, 1, 'genOnOff', 'onOff') === 0,
      30_000,
      'the plug to obey after the reconnect',
    );
    expect(logs.find('ZigBee network resumed').length).toBeGreaterThan(0);
  }, 120_000);

  it('a device whose Device is deleted is listed as undeclared again, and the mapper stops serving it', async () => {
    expect(undeclared.map((d) => d.ieeeAddress)).not.toContain(PLUG_IEEE);
    await twin.removeSpec(plug);
    await waitFor(
      () => undeclared.some((d) => d.ieeeAddress === PLUG_IEEE),
      20_000,
      'the plug on the undeclared topic',
    );
    await waitFor(() => !handle!.devices().some((d) => d.id === 'default/plug'), 20_000, 'the mapper to drop the plug');
    expect(handle!.devices().find((d) => d.id === 'default/th-sensor')?.state).toBe('online');
  }, 40_000);
});
