/**
 * Prints figures for zigbee-herdsman against the ZNP emulator: network formation and resume time,
 * joining + interviewing N devices, and ZCL command/read round trips. Run after building:
 *   node mappers/zigbee/dist/bench/zigbee-bench.js [devices=20] [commands=200]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, setLogger } from 'zigbee-herdsman';
import { onOffPlug, startZnpEmulator, temperatureHumiditySensor } from '../sim/index.js';

const quiet = () => undefined;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;

async function main(): Promise<void> {
  const nDevices = Number(process.argv[2] ?? 20);
  const nCommands = Number(process.argv[3] ?? 200);
  setLogger({ debug: quiet, info: quiet, warning: quiet, error: quiet });
  const dir = mkdtempSync(join(tmpdir(), 'edgetwin-zigbee-bench-'));
  const sensors = Array.from({ length: nDevices - 1 }, (_, i) =>
    temperatureHumiditySensor(`0x00124b00000a${(i + 1).toString(16).padStart(4, '0')}`, 0x4000 + i),
  );
  const emu = await startZnpEmulator({ devices: [onOffPlug(), ...sensors], reportIntervalMs: 0, joinDelayMs: 10 });
  const make = () =>
    new Controller({
      network: {
        panID: 0x3333,
        channelList: [11],
        networkKey: [...Array(16).keys()],
        extendedPanID: [9, 8, 7, 6, 5, 4, 3, 2],
      },
      serialPort: { path: emu.url, adapter: 'zstack' },
      databasePath: join(dir, 'database.db'),
      databaseBackupPath: join(dir, 'database.db.backup'),
      backupPath: join(dir, 'backup.json'),
      adapter: { disableLED: true },
      acceptJoiningDeviceHandler: () => Promise.resolve(true),
    });
  try {
    let c = make();
    let t = performance.now();
    await c.start();
    console.log(`form network:            ${(performance.now() - t).toFixed(0)} ms`);
    await c.stop();
    c = make();
    t = performance.now();
    await c.start();
    console.log(`resume network:          ${(performance.now() - t).toFixed(0)} ms`);

    let done = 0;
    c.on('deviceInterview', (p) => {
      if (p.status === 'successful') done++;
    });
    t = performance.now();
    await c.permitJoin(120);
    while (done < nDevices) await new Promise((r) => setTimeout(r, 10));
    console.log(`join + interview ${nDevices} devices: ${(performance.now() - t).toFixed(0)} ms`);

    const ep = c.getDeviceByIeeeAddr('0x00124b0000000202')!.getEndpoint(1)!;
    const cmd: number[] = [];
    const read: number[] = [];
    for (let i = 0; i < nCommands; i++) {
      let s = performance.now();
      await ep.command('genOnOff', i % 2 ? 'off' : 'on', {});
      cmd.push(performance.now() - s);
      s = performance.now();
      await ep.read('genOnOff', ['onOff']);
      read.push(performance.now() - s);
    }
    console.log(
      `genOnOff command round trip: p50 ${pct(cmd, 0.5).toFixed(2)} ms, p95 ${pct(cmd, 0.95).toFixed(2)} ms (${nCommands})`,
    );
    console.log(
      `attribute read round trip:   p50 ${pct(read, 0.5).toFixed(2)} ms, p95 ${pct(read, 0.95).toFixed(2)} ms (${nCommands})`,
    );
    await c.stop();
  } finally {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
