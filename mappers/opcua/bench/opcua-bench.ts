/**
 * `npm run bench:opcua`: 1,000 OPC UA variables changing every 100 ms, all monitored by one mapper
 * process through one subscription. Prints the value updates per second that reach the twin
 * (values inside DMI ReportDeviceStatus calls, as edgecore receives them) and the mapper process's
 * CPU and RSS (from /proc). The simulator and the mapper run as their own processes (the package
 * bins); this script plays edgecore's side of DMI (the sdk testing kit's DmiSide: it gives the
 * mapper its device at registration and checks every report against the model).
 * Env: BENCH_VARIABLES (1000), BENCH_SECONDS (15), BENCH_SECURITY (None | Sign | SignAndEncrypt, default None).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Device, DeviceModel } from '@edgetwin/sdk';
import { processCpuSeconds, processMemory, systemClock } from '@edgetwin/sdk/util';
import { DmiSide, freePort, stopProcess, waitFor } from '@edgetwin/sdk/testing';
import { plantNodes } from '../sim/plant.js';
import { createOpcuaDriver, defaultPkiDir } from '../src/driver/driver.js';
import { pkiLayout } from '../src/transport/pki.js';

const N = Number(process.env.BENCH_VARIABLES ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const SECURITY = process.env.BENCH_SECURITY ?? 'None';
const NODE = 'bench-node';
const ref = { namespace: 'default', name: 'bench-plant' };
/** A compiled entry of this package: `src/bin.js` (the mapper) or `sim/bin.js` (the simulator). */
const bin = (path: string) => join(dirname(fileURLToPath(import.meta.url)), '..', path);

function procStats(pid: number): { cpuMs: number; rssMb: number } {
  return { cpuMs: (processCpuSeconds(pid) ?? NaN) * 1000, rssMb: (processMemory(pid)?.rss ?? 0) / 1048576 };
}

function spec(url: string): { device: Device; model: DeviceModel } {
  const names = Array.from({ length: N }, (_, i) => `v${i}`);
  return {
    model: {
      apiVersion: 'devices.kubeedge.io/v1beta1',
      kind: 'DeviceModel',
      metadata: { name: 'bench-model', namespace: 'default' },
      spec: { protocol: 'opcua', properties: names.map((name) => ({ name, type: 'DOUBLE', accessMode: 'ReadOnly' })) },
    },
    device: {
      apiVersion: 'devices.kubeedge.io/v1beta1',
      kind: 'Device',
      metadata: { name: ref.name, namespace: ref.namespace },
      spec: {
        deviceModelRef: { name: 'bench-model' },
        nodeName: NODE,
        protocol: { protocolName: 'opcua', configData: { url, securityMode: SECURITY } },
        properties: names.map((name, i) => ({
          name,
          collectCycle: 100,
          reportCycle: 100,
          visitors: { protocolName: 'opcua', configData: { nodeID: plantNodes.bench(i) } },
        })),
      },
    },
  };
}

function startChild(file: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

async function main(): Promise<void> {
  const edge = await DmiSide.start({ nodeName: NODE });
  const simPort = await freePort();
  const sim = startChild(bin('sim/bin.js'), ['--port', String(simPort), '--bench-variables', String(N)]);
  const children: ChildProcess[] = [sim.child];
  const dataDir = mkdtempSync(join(tmpdir(), 'edgetwin-opcua-bench-'));
  try {
    const url = await waitFor(() => /listening on (\S+)/.exec(sim.output())?.[1], 60_000, 'the simulator');
    const certFile = /server certificate (\S+)/.exec(sim.output())?.[1];
    if (certFile) {
      const trusted = pkiLayout(defaultPkiDir(dataDir)).trusted;
      mkdirSync(trusted, { recursive: true });
      copyFileSync(certFile, join(trusted, 'sim.pem'));
    }

    const { device, model } = spec(url);
    await edge.publishSpec(device, model);
    // Each accepted ReportDeviceStatus is one entry of updates(), holding the values it carried.
    let counted = 0;
    let values = 0;
    const count = () => {
      const all = edge.updates(ref);
      for (; counted < all.length; counted++) values += Object.keys(all[counted]!).length;
      return { values, messages: counted };
    };

    const mapper = startChild(bin('src/bin.js'), [
      '--dmi-socket',
      edge.socketPath,
      '--node-name',
      NODE,
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
    ]);
    children.push(mapper.child);
    const pid = mapper.child.pid!;
    await waitFor(() => count().values >= N, 60_000, 'the first report of every variable');
    // Warm-up, then measure a window.
    await new Promise((r) => setTimeout(r, 3000));
    const { values: v0, messages: m0 } = count();
    const s0 = procStats(pid);
    const t0 = Date.now();
    let peakRss = s0.rssMb;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, procStats(pid).rssMb)), 500);
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    clearInterval(sampler);
    const s1 = procStats(pid);
    const secs = (Date.now() - t0) / 1000;
    const { values: v1, messages: m1 } = count();
    const rate = (v1 - v0) / secs;
    console.log(
      `OPC UA bench: ${N} monitored variables changing every 100 ms (${N * 10} changes/s offered), securityMode ${SECURITY}`,
    );
    console.log(
      `  measured over ${secs.toFixed(1)} s at edgecore's side of DMI (values in ReportDeviceStatus calls, i.e. reaching the twin)`,
    );
    console.log(
      `  value updates reaching the twin: ${rate.toFixed(0)}/s (${((m1 - m0) / secs).toFixed(1)} ReportDeviceStatus calls/s)`,
    );
    console.log(`  mapper process CPU: ${((100 * (s1.cpuMs - s0.cpuMs)) / (secs * 1000)).toFixed(1)} % of one core`);
    console.log(`  mapper process RSS: ${s1.rssMb.toFixed(0)} MB (peak ${peakRss.toFixed(0)} MB)`);
    await stopProcess(mapper.child, 5000);
    await driverPhase(url, dataDir);
  } finally {
    for (const c of children.reverse()) await stopProcess(c, 5000);
    await edge.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The same load through the driver alone (hooks counted in this process): what the runtime is offered. */
async function driverPhase(url: string, dataDir: string): Promise<void> {
  const ctx = {
    nodeName: NODE,
    dataDir,
    logger: pino({ level: 'warn' }),
    clock: systemClock,
    mqtt: {
      publish: () => Promise.reject(new Error('unused')),
      subscribe: () => Promise.reject(new Error('unused')),
    },
  };
  const driver = createOpcuaDriver(ctx);
  let pushed = 0;
  const props = Array.from({ length: N }, (_, i) => ({
    name: `v${i}`,
    model: { name: `v${i}`, type: 'DOUBLE' as const },
    visitor: {
      nodeID: plantNodes.bench(i),
      collect: 'subscribe' as const,
      deadbandType: 'None' as const,
      deadbandValue: 0,
    },
    collectCycle: 100,
    reportCycle: 100,
  }));
  const { device } = spec(url);
  const ac = new AbortController();
  const session = await driver.connect(
    {
      id: `${ref.namespace}/${ref.name}`,
      namespace: ref.namespace,
      name: ref.name,
      protocol: { url, securityMode: SECURITY as 'None', timeoutMs: 10_000, keepAliveMs: 5_000 },
      properties: props,
      device,
      model: spec(url).model,
    },
    { onReading: () => pushed++, onLost: (err) => console.error(`lost: ${err.message}`) },
    ac.signal,
  );
  await session.subscribe?.(props, ac.signal);
  await new Promise((r) => setTimeout(r, 3000));
  const p0 = pushed;
  const c0 = process.cpuUsage();
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const c1 = process.cpuUsage(c0);
  const secs = (Date.now() - t0) / 1000;
  console.log(
    `  driver alone (in-process hooks, no DMI): ${((pushed - p0) / secs).toFixed(0)} value updates/s, CPU ${((c1.user + c1.system) / 10 / 1000 / secs).toFixed(1)} % of one core, RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MB`,
  );
  await session.close();
  await driver.stop();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
