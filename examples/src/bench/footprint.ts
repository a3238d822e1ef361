/**
 * npm run bench:footprint: what the edge costs in memory. Starts the quickstart's four simulators
 * (each its own process, not counted), then edgecore exactly as a user starts it (`edgetwin edge`
 * with the quickstart's devices; it starts and supervises one mapper process per protocol), waits
 * until every device has reported a value, and prints RSS, PSS and USS of edgecore and each mapper
 * (from /proc/PID/smaps_rollup), their total, and the time from starting edgecore to the last
 * device's first value; then the same after --seconds of polling (every device at its configured
 * cycle) with the peak total PSS sampled meanwhile.
 *
 *   npm run bench:footprint -- [--devices 1000[,100...]] [--seconds 60] [--settle 5] [--idle-after 25]
 *
 * --settle: the "at ready" sample is taken this many seconds after the last first value. --idle-after:
 * one more sample this many seconds after it (25 s: where the edge's figures were first measured, the
 * "idle" edge: start-up over, devices polled at their cycle, no API client), printed when polling
 * lasts that long.
 *
 * --devices repeats the Modbus thermostat N times (over 100 slaves of the Modbus simulator); the
 * quickstart alone is run first, and how memory grows per added device is printed at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { processCpuSeconds } from '@edgetwin/sdk/util';
import { freePort, waitFor } from '@edgetwin/sdk/testing';
import { ROOT, startSimulators, writeDevices } from './footprint-setup.js';
import { aloneBytes, childPids, commandLine, footprint, mb, type ProcessFootprint } from './proc-memory.js';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '60' },
    settle: { type: 'string', default: '5' },
    'idle-after': { type: 'string', default: '25' },
  },
});

/** Memory and CPU seconds used so far, per process name. */
type Sample = Map<string, ProcessFootprint & { cpu: number }>;
interface RunResult {
  devices: number;
  readyMs: number;
  /** When each device (namespace/name) first reported a value, ms after edgecore started. */
  firstValues: Map<string, number>;
  atReady: Sample;
  /** --idle-after seconds after ready (25 s: where the edge's figures were first measured), if polling lasts that long. */
  idle: Sample | undefined;
  afterPolling: Sample;
  peakPss: number;
  /** aloneBytes() of the edge's processes at ready and after polling. */
  aloneAtReady: number;
  aloneAfterPolling: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const total = (s: Sample) =>
  [...s.values()].reduce((a, f) => ({ rss: a.rss + f.rss, pss: a.pss + f.pss, uss: a.uss + f.uss }), {
    rss: 0,
    pss: 0,
    uss: 0,
  });

/** edgecore and its mapper processes, named by what they run. */
function edgeProcesses(edgecorePid: number): Map<string, number> {
  const named = new Map<string, number>([['edgecore', edgecorePid]]);
  for (const pid of childPids(edgecorePid)) {
    const name = /edgetwin-(mapper-[a-z]+|mapper-host)/.exec(commandLine(pid))?.[1] ?? `child ${pid}`;
    named.set(name, pid);
  }
  return named;
}

function sample(edgecorePid: number): Sample {
  const out: Sample = new Map();
  for (const [name, pid] of edgeProcesses(edgecorePid)) {
    const f = footprint(pid);
    if (f) out.set(name, { ...f, cpu: processCpuSeconds(pid) ?? NaN });
  }
  return out;
}

/** The table, with CPU seconds used since `since` (or since the process started). */
function printSample(title: string, s: Sample, since?: Sample): void {
  console.log(`  ${title}`);
  const head = ['RSS MB', 'PSS MB', 'USS MB', 'CPU s'].map((h) => h.padStart(8)).join(' ');
  console.log(`    ${'process'.padEnd(20)} ${head}`);
  const cpu = (name: string) => (s.get(name)?.cpu ?? NaN) - (since?.get(name)?.cpu ?? 0);
  const rows = [...s.entries()].sort(([a], [b]) => a.localeCompare(b));
  const cpuTotal = rows.reduce((a, [name]) => a + cpu(name), 0);
  for (const [name, f] of [...rows, ['total', total(s)] as const]) {
    const cells = [mb(f.rss), mb(f.pss), mb(f.uss), (name === 'total' ? cpuTotal : cpu(name)).toFixed(2)];
    console.log(`    ${name.padEnd(20)} ${cells.map((c) => c.padStart(8)).join(' ')}`);
  }
}

interface TwinBody {
  reported?: Record<string, unknown>;
}

/** Waits until every device of the node has at least one reported value; returns when each got it. */
async function waitForFirstValues(api: string, expected: number, startedAt: number): Promise<Map<string, number>> {
  const firstValue = new Map<string, number>();
  await waitFor(
    async () => {
      const res = await fetch(`${api}/devices`).catch(() => undefined);
      if (res?.status !== 200) return false;
      const { items } = (await res.json()) as { items: { id: string; protocol?: string }[] };
      if (items.length < expected) return false;
      const pending = items.filter((d) => !firstValue.has(d.id));
      for (let i = 0; i < pending.length; i += 8) {
        await Promise.all(
          pending.slice(i, i + 8).map(async (d) => {
            const twin = (await (await fetch(`${api}/devices/${d.id}/twin`)).json()) as TwinBody;
            if (Object.keys(twin.reported ?? {}).length > 0) firstValue.set(d.id, Date.now() - startedAt);
          }),
        );
      }
      if (firstValue.size === items.length) return true;
      await sleep(200);
      return false;
    },
    300_000,
    'every device to report a value',
  );
  return firstValue;
}

async function runOnce(
  modbusDevices: number,
  seconds: number,
  settleSeconds: number,
  idleAfterSeconds: number,
): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'edgetwin-footprint-'));
  const ports = { modbus: await freePort(), opcua: await freePort(), zigbee: await freePort() };
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  writeDevices(join(dir, 'devices'), ports, modbusDevices);
  const dataDir = join(dir, 'data');
  const sims = await startSimulators(dir, ports, modbusDevices, dataDir);
  const expected = modbusDevices + 6; // the quickstart's other devices: 3 BLE, 2 ZigBee, 1 OPC UA
  const env = {
    ...process.env,
    EDGETWIN_BLE_BINDINGS: 'websocket',
    EDGETWIN_ZIGBEE_PERMIT_JOIN_MISSING: '120',
    EDGETWIN_LOG_LEVEL: process.env.EDGETWIN_LOG_LEVEL ?? 'warn',
  };
  const edgeArgs = ['edge', '--devices', join(dir, 'devices'), '--data-dir', dataDir, '--node-name', 'quickstart-node'];
  edgeArgs.push('--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--log-level', 'warn');
  const startedAt = Date.now();
  const edgecore = spawn(process.execPath, [join(ROOT, 'core/bin/edgetwin.js'), ...edgeArgs], {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise((done) => edgecore.once('exit', done));
  try {
    const firstValues = await Promise.race([
      waitForFirstValues(`http://127.0.0.1:${httpPort}/api/v1`, expected, startedAt),
      exited.then(() => {
        throw new Error(`edgecore exited (${edgecore.exitCode ?? edgecore.signalCode}) before every device reported`);
      }),
    ]);
    const readyMs = Math.max(...firstValues.values());
    const readyAt = Date.now();
    await sleep(settleSeconds * 1000);
    const atReady = sample(edgecore.pid!);
    const aloneAtReady = aloneBytes([...edgeProcesses(edgecore.pid!).values()]);
    let peakPss = total(atReady).pss;
    const end = Date.now() + seconds * 1000;
    const idleAt = readyAt + idleAfterSeconds * 1000;
    let idle: Sample | undefined;
    while (Date.now() < end) {
      const next = idle === undefined && idleAt > Date.now() && idleAt <= end ? idleAt : end;
      await sleep(Math.min(2000, Math.max(0, next - Date.now())));
      const now = sample(edgecore.pid!);
      if (idle === undefined && Date.now() >= idleAt) idle = now;
      peakPss = Math.max(peakPss, total(now).pss);
    }
    const afterPolling = sample(edgecore.pid!);
    const aloneAfterPolling = aloneBytes([...edgeProcesses(edgecore.pid!).values()]);
    peakPss = Math.max(peakPss, total(afterPolling).pss);
    return {
      devices: modbusDevices,
      readyMs,
      firstValues,
      atReady,
      idle,
      afterPolling,
      peakPss,
      aloneAtReady,
      aloneAfterPolling,
    };
  } finally {
    edgecore.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000).then(() => edgecore.kill('SIGKILL'))]);
    await sims.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(r: RunResult, seconds: number, settle: number, idleAfter: number): void {
  const label = r.devices > 1 ? `the quickstart with ${r.devices} Modbus thermostats` : 'the quickstart devices';
  console.log(`\nfootprint bench: ${label} (${r.devices + 6} devices), ${process.version}`);
  console.log(
    `  start to ready          ${(r.readyMs / 1000).toFixed(1)} s (edgecore started -> every device reported a value)`,
  );
  const byTime = [...r.firstValues].sort((a, b) => a[1] - b[1]);
  const shown = byTime.length > 8 ? [...byTime.slice(0, 3), ...byTime.slice(-5)] : byTime;
  console.log(`  first value per device  ${shown.map(([id, ms]) => `${id} ${(ms / 1000).toFixed(1)} s`).join(', ')}`);
  printSample(`at ready (+${settle} s; CPU: since the process started)`, r.atReady);
  if (r.idle) printSample(`idle, ${idleAfter} s after ready (CPU: used since ready +${settle} s)`, r.idle, r.atReady);
  printSample(`after ${seconds} s of polling (CPU: used meanwhile)`, r.afterPolling, r.atReady);
  console.log(`  peak total PSS while polling ${mb(r.peakPss)} MB (sampled every 2 s)`);
  console.log(
    `  the edge alone           ${mb(r.aloneAtReady)} MB at ready, ${mb(r.aloneAfterPolling)} MB after polling ` +
      '(USS plus every shared page once: what these processes hold with no simulator or other node process beside them)',
  );
  console.log(
    `  load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${availableParallelism()} cores`,
  );
}

async function main(): Promise<void> {
  const seconds = Number(args.seconds);
  const settle = Number(args.settle);
  const idleAfter = Number(args['idle-after']);
  const sizes = [...new Set([1, ...args.devices.split(',').map(Number)])].sort((a, b) => a - b);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--devices takes positive integers');
  console.log(
    `load average at start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${availableParallelism()} cores`,
  );
  const results: RunResult[] = [];
  for (const n of sizes) {
    const r = await runOnce(n, seconds, settle, idleAfter);
    report(r, seconds, settle, idleAfter);
    results.push(r);
  }
  const base = results[0]!;
  for (const r of results.slice(1)) {
    const added = r.devices - base.devices;
    const grow = (name: string, s: (x: RunResult) => Sample) =>
      (((s(r).get(name)?.pss ?? 0) - (s(base).get(name)?.pss ?? 0)) / added / 1024).toFixed(1);
    const totalGrowth = ((total(r.afterPolling).pss - total(base.afterPolling).pss) / added / 1024).toFixed(1);
    console.log(
      `\ngrowth per added Modbus device (${added} added, PSS after polling): edgecore ${grow('edgecore', (x) => x.afterPolling)} KB, ` +
        `mapper-modbus ${grow('mapper-modbus', (x) => x.afterPolling)} KB, total ${totalGrowth} KB ` +
        `(at ready: edgecore ${grow('edgecore', (x) => x.atReady)} KB, mapper-modbus ${grow('mapper-modbus', (x) => x.atReady)} KB)`,
    );
  }
}

await main();
