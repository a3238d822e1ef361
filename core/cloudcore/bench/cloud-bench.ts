/**
 * npm run bench:cloud: one cloudcore (a child process, so its RSS is its own) against the real
 * CRD API server, with BENCH_NODES simulated edge nodes (default 1000) of BENCH_DEVICES devices
 * each (default 10). Simulated edges speak the real link protocol over websockets: join, hello,
 * acknowledge syncs. Prints: time for all nodes to connect and hold their devices, cloudcore's
 * RSS, the p50/p99 latency of a desired change from Kubernetes to the edge, and the time to resync
 * everything after a cloudcore restart. Set EDGETWIN_BENCH_KUBECONFIG to use an existing cluster.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { KubeClient, loadKubeConfig } from '@edgetwin/cloudcore/k8s';
import { envelope, parseEnvelope, type Envelope, type SyncContent } from '@edgetwin/cloud-link';
import { processMemory } from '@edgetwin/sdk/util';
import { freePort, startKubeApiServer, waitFor, type KubeTestCluster } from '@edgetwin/sdk/testing';
import { cloudCommand, CloudStateStore } from '@edgetwin/cloudcore';

const here = dirname(fileURLToPath(import.meta.url));
const NODES = Number(process.env.BENCH_NODES ?? 1000);
const DEVICES = Number(process.env.BENCH_DEVICES ?? 10);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 300);
const BASE = '/apis/devices.kubeedge.io/v1beta1/namespaces/default';

const pad = (n: number, w = 4) => String(n).padStart(w, '0');
const nodeName = (i: number) => `node-${pad(i)}`;
const deviceName = (i: number, j: number) => `dev-${pad(i)}-${pad(j, 2)}`;

async function pool<T>(items: T[], concurrency: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** A simulated edge node: joins, holds objects by version, acks syncs, reconnects when dropped. */
class SimEdge {
  holds = new Map<string, string>();
  token = '';
  ws: WebSocket | undefined;
  syncedAt = 0;
  connections = 0;
  stopped = false;
  onSync: ((c: SyncContent, at: number) => void) | undefined;

  constructor(
    readonly name: string,
    readonly port: number,
  ) {}

  async join(joinToken: string): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${this.port}/v1/join`, {
      method: 'POST',
      body: JSON.stringify({ node: this.name, token: joinToken }),
      signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok) throw new Error(`join ${this.name}: ${res.status}`);
    this.token = ((await res.json()) as { nodeToken: string }).nodeToken;
  }

  connect(): void {
    if (this.stopped) return;
    this.syncedAt = 0;
    const ws = new WebSocket(`ws://127.0.0.1:${this.port}/v1/connect`, {
      headers: { authorization: `Bearer ${this.token}`, 'x-edgetwin-node': this.name },
    });
    this.ws = ws;
    ws.on('open', () => {
      this.connections++;
      ws.send(JSON.stringify(envelope('edge', 'hub', 'hello', 'node', { holds: Object.fromEntries(this.holds) })));
    });
    ws.on('message', (data: Buffer) => {
      const e = parseEnvelope(data.toString('utf8')) as Envelope<SyncContent> | undefined;
      if (e?.route.operation !== 'sync') return;
      const at = performance.now();
      for (const u of e.content.upserts) this.holds.set(u.key, u.resourceVersion);
      for (const k of e.content.deletes) this.holds.delete(k);
      ws.send(JSON.stringify(envelope('edge', 'hub', 'ack', e.route.resource, {}, e.header.id)));
      if (e.content.initial) this.syncedAt = at;
      this.onSync?.(e.content, at);
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (!this.stopped) setTimeout(() => this.connect(), 200 + Math.random() * 800);
    });
  }

  stop(): void {
    this.stopped = true;
    this.ws?.terminate();
  }
}

function startCloudcore(kubeconfig: string, dataDir: string, port: number): ChildProcess {
  return spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', kubeconfig, dataDir, String(port)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

function rssMb(pid: number): number {
  return (processMemory(pid)?.rss ?? NaN) / 1048576;
}

async function waitHealthy(port: number): Promise<void> {
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok,
    120_000,
    'cloudcore to listen',
  );
}

function stopChild(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  let cluster: KubeTestCluster | undefined;
  let kubeconfig = process.env.EDGETWIN_BENCH_KUBECONFIG;
  if (!kubeconfig) {
    const k = await startKubeApiServer();
    if (typeof k === 'string') throw new Error(k);
    cluster = k;
    kubeconfig = k.kubeconfig;
    await k.kubectl(['apply', '-f', join(here, '..', '..', '..', 'deploy', 'crds.yaml')]);
    await k.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/devices.devices.kubeedge.io']);
  }
  const client = new KubeClient(loadKubeConfig(kubeconfig), 60_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'edgetwin-cloud-bench-'));
  const edges: SimEdge[] = [];
  let cloud: ChildProcess | undefined;
  try {
    console.log(`cloud bench: ${NODES} edge nodes x ${DEVICES} devices = ${NODES * DEVICES} devices`);
    let t = performance.now();
    await client.call('POST', `${BASE}/devicemodels`, {
      apiVersion: 'devices.kubeedge.io/v1beta1',
      kind: 'DeviceModel',
      metadata: { name: 'bench-model' },
      spec: {
        protocol: 'modbus',
        properties: [
          { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite' },
          { name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly' },
        ],
      },
    });
    const work: Array<[number, number]> = [];
    for (let i = 0; i < NODES; i++) for (let j = 0; j < DEVICES; j++) work.push([i, j]);
    await pool(work, 16, async ([i, j]) => {
      await client.call('POST', `${BASE}/devices`, {
        apiVersion: 'devices.kubeedge.io/v1beta1',
        kind: 'Device',
        metadata: { name: deviceName(i, j) },
        spec: {
          deviceModelRef: { name: 'bench-model' },
          nodeName: nodeName(i),
          properties: [{ name: 'setpoint', desired: { value: '20' } }, { name: 'temperature' }],
        },
      });
    });
    console.log(`  created ${work.length} Devices in Kubernetes: ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const store = new CloudStateStore(dataDir);
    // Join tokens are single use: one per simulated node.
    const joinTokens = Array.from(
      { length: NODES },
      (_, i) => store.createJoinToken(3_600_000, { node: nodeName(i) }).token,
    );
    store.close();
    const port = await freePort();
    cloud = startCloudcore(kubeconfig, dataDir, port);
    await waitHealthy(port);

    for (let i = 0; i < NODES; i++) edges.push(new SimEdge(nodeName(i), port));
    await pool(
      edges.map((e, i) => [e, joinTokens[i]!] as const),
      32,
      ([e, t]) => e.join(t),
    );
    const want = DEVICES + 1; // devices and their model
    t = performance.now();
    for (const e of edges) e.connect();
    await waitFor(
      () => edges.every((e) => e.syncedAt > 0 && e.holds.size === want),
      300_000,
      'all edges to hold their devices',
    );
    const connectMs = Math.max(...edges.map((e) => e.syncedAt)) - t;
    console.log(
      `  all ${NODES} nodes connected and holding their ${DEVICES} devices: ${(connectMs / 1000).toFixed(2)} s`,
    );
    await new Promise((r) => setTimeout(r, 2000));
    console.log(`  cloudcore RSS with ${NODES} nodes connected: ${rssMb(cloud.pid!).toFixed(0)} MB`);

    // Desired changes from Kubernetes to the edge: patch, then wait for the edge's sync.
    const latencies: number[] = [];
    const changes = Array.from({ length: CHANGES }, (_, k) => [k % NODES, k % DEVICES, 100 + k] as const);
    await pool(changes, 4, async ([i, j, value]) => {
      const edge = edges[i]!;
      const key = `Device/default/${deviceName(i, j)}`;
      const before = edge.holds.get(key);
      const arrived = new Promise<number>((resolve) => {
        const prev = edge.onSync;
        edge.onSync = (c, at) => {
          prev?.(c, at);
          if (c.upserts.some((u) => u.key === key && u.resourceVersion !== before)) resolve(at);
        };
      });
      const t0 = performance.now();
      await client.call('PATCH', `${BASE}/devices/${deviceName(i, j)}`, {
        spec: { properties: [{ name: 'setpoint', desired: { value: String(value) } }, { name: 'temperature' }] },
      });
      latencies.push((await arrived) - t0);
    });
    latencies.sort((a, b) => a - b);
    console.log(
      `  desired change Kubernetes -> edge (${latencies.length} changes): p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
    );

    // Restart cloudcore: every edge reconnects, says what it holds, and gets only what changed.
    for (const e of edges) e.onSync = undefined;
    await stopChild(cloud);
    const connectionsBefore = edges.map((e) => e.connections);
    t = performance.now();
    cloud = startCloudcore(kubeconfig, dataDir, port);
    await waitFor(
      () => edges.every((e, k) => e.connections > connectionsBefore[k]! && e.syncedAt > 0 && e.holds.size === want),
      300_000,
      'all edges to resync',
    );
    console.log(
      `  resync of all ${NODES} nodes after a cloudcore restart: ${((performance.now() - t) / 1000).toFixed(2)} s (includes cloudcore start-up and the list of ${work.length} Devices)`,
    );
    console.log(`  cloudcore RSS after the resync: ${rssMb(cloud.pid!).toFixed(0)} MB`);
  } finally {
    for (const e of edges) e.stop();
    if (cloud) await stopChild(cloud);
    await cluster?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') {
  const [, , , kubeconfig, dataDir, port] = process.argv;
  process.exitCode = await cloudCommand([
    '--kubeconfig',
    kubeconfig!,
    '--data-dir',
    dataDir!,
    '--port',
    port!,
    '--host',
    '127.0.0.1',
  ]);
} else {
  await main();
  process.exit(0);
}
