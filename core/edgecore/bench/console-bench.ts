/**
 * npm run bench:console: what the web console costs edgecore. Starts the real edgecore process
 * (`edgetwin edge`, 100 devices, no mappers) and reads its RSS from /proc: idle with nobody
 * connected, idle again a few seconds later (the control: how much RSS drifts on its own), then
 * after browsers loaded the console (`/` and its assets, gzip) `--loads` times. Prints the asset
 * sizes too.
 *
 *   npm run bench:console -- [--loads 20] [--devices 100]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { processMemory } from '@edgetwin/sdk/util';
import { freePort, waitFor } from '@edgetwin/sdk/testing';

const here = dirname(fileURLToPath(import.meta.url));
const EDGETWIN_BIN = join(here, '..', '..', '..', 'bin', 'edgetwin.js');
const { values: args } = parseArgs({
  options: { loads: { type: 'string', default: '20' }, devices: { type: 'string', default: '100' } },
});

const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Median RSS of `n` samples one second apart. */
async function rss(pid: number, n = 5): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    xs.push(processMemory(pid)?.rss ?? NaN);
    await sleep(1000);
  }
  return xs.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}

function devicesYaml(n: number): string {
  const docs = [
    'apiVersion: devices.kubeedge.io/v1beta1\nkind: DeviceModel\nmetadata: { name: m, namespace: default }\nspec:\n  protocol: bench\n  properties:\n    - { name: t, type: FLOAT, accessMode: ReadOnly }',
  ];
  for (let i = 0; i < n; i++) {
    docs.push(
      `apiVersion: devices.kubeedge.io/v1beta1\nkind: Device\nmetadata: { name: d${i}, namespace: default }\nspec:\n  deviceModelRef: { name: m }\n  nodeName: bench-node\n  properties: [{ name: t }]`,
    );
  }
  return docs.join('\n---\n') + '\n';
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'edgetwin-console-bench-'));
  mkdirSync(join(dir, 'devices'));
  writeFileSync(join(dir, 'devices', 'devices.yaml'), devicesYaml(Number(args.devices)));
  const [http, mqtt] = [await freePort(), await freePort()];
  const edgecore = spawn(
    process.execPath,
    [
      EDGETWIN_BIN,
      'edge',
      '--devices',
      join(dir, 'devices'),
      '--data-dir',
      join(dir, 'data'),
      '--node-name',
      'bench-node',
      '--http-port',
      String(http),
      '--mqtt-port',
      String(mqtt),
      '--no-mappers',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const base = `http://127.0.0.1:${http}`;
  try {
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 60_000, 'edgecore to be ready');
    await sleep(12_000); // past edgecore's start-up garbage collection (collectGarbageNow, <= 10 s)
    const pid = edgecore.pid!;
    const idle = await rss(pid);
    const control = await rss(pid);
    const gzip = { 'accept-encoding': 'gzip' };
    let bytes = 0;
    for (let i = 0; i < Number(args.loads); i++) {
      const html = await (await fetch(`${base}/`, { headers: gzip })).text();
      for (const m of html.matchAll(/\/assets\/[\w.-]+/g)) {
        const res = await fetch(`${base}${m[0]}`, { headers: gzip });
        bytes += (await res.arrayBuffer()).byteLength; // decoded by fetch
      }
    }
    await sleep(2000);
    const after = await rss(pid);
    const la = loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');
    console.log(`console bench: edgecore pid ${pid} (${process.version}), ${args.devices} devices, load average ${la}`);
    console.log(`  edgecore idle RSS, nobody connected        ${mb(idle)}`);
    console.log(`  same, 5 s later (control: drift alone)     ${mb(control)} (${mb(control - idle)})`);
    console.log(
      `  after ${args.loads} console loads (${(bytes / 1024).toFixed(0)} KB)    ${mb(after)} (${mb(after - control)} vs control)`,
    );
  } finally {
    edgecore.kill('SIGTERM');
    await new Promise((r) => edgecore.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
