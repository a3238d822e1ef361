/**
 * A node to pair devices on: the ZNP coordinator emulator (its sensor and plug join whenever
 * joining is permitted; only the sensor is declared), the BLE mapper's simulated peripherals (only
 * the environment sensor is configured; the thermometer and the light advertise unconfigured), and
 * a real edgecore process with its supervised zigbee and bluetooth mappers. HTTP tokens with each
 * scope are made before edgecore starts, so the API requires them.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startZnpEmulator, type ZnpEmulator } from '@edgetwin/mapper-zigbee/sim';
import { freePort } from '@edgetwin/sdk/testing';
import { CLI, startEdgecore, tempDir, type EdgecoreProcess } from './edgecore-process.js';

const run = promisify(execFile);
const QUICKSTART = resolve(import.meta.dirname, '../../../../examples/quickstart/devices');

export const SENSOR_IEEE = '0x00124b0000000101';
export const PLUG_IEEE = '0x00124b0000000202';
export const BLE_SENSOR = 'e7:00:00:00:00:01';
export const BLE_THERMOMETER = 'e7:00:00:00:00:02';

export interface PairingNode {
  edge: EdgecoreProcess;
  emulator: ZnpEmulator;
  /** Bearer tokens by scope. */
  tokens: { read: string; write: string; admin: string };
  stop(): Promise<void>;
}

/** The first `n` YAML documents of a quickstart devices file. */
const firstDocs = (file: string, n: number) =>
  readFileSync(join(QUICKSTART, file), 'utf8').split(/^---$/m).slice(0, n).join('---');

export async function startPairingNode(): Promise<PairingNode> {
  const zigbeePort = await freePort();
  const emulator = await startZnpEmulator({ port: zigbeePort, reportIntervalMs: 2000 });
  const devicesDir = tempDir('pairing-devices');
  const dataDir = tempDir('pairing-data');
  try {
    const port = (text: string) => text.replaceAll('tcp://127.0.0.1:6638', emulator.url);
    writeFileSync(
      join(devicesDir, 'zigbee-models.yaml'),
      port(readFileSync(join(QUICKSTART, 'zigbee-models.yaml'), 'utf8')),
    );
    writeFileSync(join(devicesDir, 'zigbee-sensor.yaml'), port(firstDocs('zigbee-devices.yaml', 1)));
    writeFileSync(join(devicesDir, 'ble-sensor.yaml'), firstDocs('ble-demo.yaml', 2));
    const token = async (scope: string) => {
      const file = join(dataDir, `${scope}.header`);
      await run(
        process.execPath,
        [CLI, 'tokens', 'create', '--scope', scope, '--name', scope, '--header-file', file, '--data-dir', dataDir],
        {
          timeout: 20_000,
        },
      );
      return readFileSync(file, 'utf8')
        .trim()
        .replace(/^Authorization:\s*Bearer\s+/i, '');
    };
    const tokens = { read: await token('read'), write: await token('write'), admin: await token('admin') };
    const edge = await startEdgecore({
      devicesDir,
      dataDir,
      mappers: true,
      nodeName: 'quickstart-node', // the quickstart's devices name it
      env: { EDGETWIN_BLE_BINDINGS: 'sim' },
    });
    return {
      edge,
      emulator,
      tokens,
      async stop() {
        await edge.kill();
        await emulator.stop();
      },
    };
  } catch (err) {
    await emulator.stop();
    throw err;
  }
}

/** Reads a server-sent events stream until `until` is satisfied by the events so far (bounded by `timeoutMs`). */
export async function readEvents(
  url: string,
  token: string,
  until: (events: { event: string; data: Record<string, unknown> }[]) => boolean,
  timeoutMs: number,
  onOpen?: () => Promise<void>,
): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const events: { event: string; data: Record<string, unknown> }[] = [];
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
    if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let opened = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
        if (event === 'state' && !opened) {
          opened = true;
          await onOpen?.();
        }
      }
      if (until(events)) break;
    }
    await reader.cancel().catch(() => undefined);
    return events;
  } catch (err) {
    if (abort.signal.aborted)
      throw new Error(`${url}: the events wanted did not come within ${timeoutMs} ms; got ${JSON.stringify(events)}`);
    throw err;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}
