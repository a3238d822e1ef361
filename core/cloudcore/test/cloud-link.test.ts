import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cloudCommand, type CloudCore } from '@edgetwin/cloudcore';
import { EdgeCloudSync } from '@edgetwin/edgecore';
import { freePort, waitFor, type KubeTestCluster } from '@edgetwin/sdk/testing';
import {
  deviceYaml,
  getDevice,
  kubectlSetDesired,
  logger,
  modelYaml,
  removeTempDirs,
  startCloud,
  startCluster,
  startEdge,
  statusReported,
  tempDir,
  waitForDesired,
  type TestEdge,
} from './harness.js';
import { startKubeProxy, type KubeProxy } from './kube-proxy.js';

let kube: KubeTestCluster | undefined;
let skipReason: string | undefined;
let proxy: KubeProxy | undefined;
let cloud: CloudCore | undefined;
let cloudDir = '';
const edges: TestEdge[] = [];
const stops: Array<() => Promise<void>> = [];

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await cloudCommand(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('cloud link: watch expiry, coalescing, TLS, CLI, edge restarts', () => {
  beforeAll(async () => {
    const k = await startCluster();
    if (typeof k === 'string') {
      skipReason = k;
      return;
    }
    kube = k;
    cloudDir = tempDir('cloud');
    proxy = await startKubeProxy(kube.kubeconfig, cloudDir);
    cloud = await startCloud({ kubeconfig: proxy.kubeconfig, dataDir: cloudDir });
    await kube.kubectl(['apply', '-f', '-'], modelYaml('thermo'));
  }, 360_000);

  afterAll(async () => {
    for (const e of edges) await e.stop();
    for (const s of stops) await s();
    await cloud?.stop();
    await proxy?.stop();
    await kube?.stop();
    removeTempDirs();
  }, 60_000);

  it('`edgetwin cloud token create` prints a join token that an edge joins with, and `edgetwin cloud nodes` lists it', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const created = await cli(['token', 'create', '--ttl', '1h', '--data-dir', cloudDir]);
    expect(created.code).toBe(0);
    const token = created.out.trim();
    expect(token).toMatch(/^etj\.[A-Za-z0-9_-]{20,}$/);
    const edge = await startEdge({ node: 'edge-1', cloudUrl: `http://127.0.0.1:${cloud!.port}`, token });
    edges.push(edge);
    await kube.kubectl(['apply', '-f', '-'], deviceYaml('pump', 'edge-1', 'thermo', '10'));
    await waitForDesired(edge, 'default/pump', 'temperature', 10);
    // The node token is kept in the edge data dir, never the join token.
    expect(edge.sync.store.getMeta('nodeToken')).toMatch(/^etn\./);
    await waitFor(
      async () =>
        (await cli(['nodes', '--data-dir', cloudDir])).out.match(/edge-1\s+Connected\s+\S+ ago\s+1\s+127\.0\.0\.1/),
      15_000,
      'nodes table with edge-1 and 1 device',
    );
    const asJson = JSON.parse((await cli(['nodes', '--json', '--data-dir', cloudDir])).out) as Array<{
      name: string;
      connected: boolean;
    }>;
    expect(asJson).toEqual([expect.objectContaining({ name: 'edge-1', connected: true })]);
  });

  it('`edgetwin cloud --kubeconfig FILE --port N` serves until stopped and exits 0; a bad kubeconfig exits 1 saying why', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const port = await freePort();
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    let err = '';
    const run = cloudCommand(
      ['--kubeconfig', kube.kubeconfig, '--port', String(port), '--host', '127.0.0.1', '--data-dir', tempDir('cli')],
      { out: () => undefined, err: (s) => (err += s), untilStopped: () => stopped },
    );
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok,
      30_000,
      'cloudcore to serve',
    );
    expect(err).toContain(`cloudcore listening on port ${port}`);
    stop();
    expect(await run).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    const bad = await cli(['--kubeconfig', join(cloudDir, 'no-such-kubeconfig'), '--data-dir', tempDir('cli')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^edgetwin cloud: .*no-such-kubeconfig/);
  });

  it('a watch ending in 410 Gone is recovered with a single relist, and a change made meanwhile still arrives', async ({
    skip,
  }) => {
    if (!kube || !proxy) return skip(skipReason ?? 'no cluster');
    const edge = edges[0]!;
    const devicesPath = '/apis/devices.kubeedge.io/v1beta1/devices';
    const listsBefore = proxy.lists.get(devicesPath) ?? 0;
    const goneBefore = cloud!.controller.devices.stats.gone;
    proxy.expireWatches();
    await kubectlSetDesired(kube, 'pump', 0, '11');
    await waitForDesired(edge, 'default/pump', 'temperature', 11);
    expect(cloud!.controller.devices.stats.gone).toBe(goneBefore + 1);
    expect(proxy.lists.get(devicesPath)).toBe(listsBefore + 1);
    // And the informer keeps watching afterwards, without listing again.
    await kubectlSetDesired(kube, 'pump', 0, '12');
    await waitForDesired(edge, 'default/pump', 'temperature', 12);
    expect(proxy.lists.get(devicesPath)).toBe(listsBefore + 1);
    const metrics = await (await fetch(`http://127.0.0.1:${cloud!.port}/metrics`)).text();
    expect(metrics).toContain(`edgetwin_cloud_informer_gone_total{resource="devices"} ${goneBefore + 1}`);
    expect(metrics).toMatch(/edgetwin_cloud_nodes_connected 1\n/);
  });

  it('many reports within a second become at most one status patch per second, with the latest values', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const edge = edges[0]!;
    await waitFor(() => edge.sync.agent.outboxSize() === 0, 10_000, 'idle outbox');
    const before = cloud!.controller.status.patches;
    const started = Date.now();
    for (let i = 1; i <= 30; i++) await edge.twin.report('default/pump', { temperature: { value: 100 + i } });
    await waitFor(
      async () => statusReported(await getDevice(kube!, 'pump'), 'temperature') === '130',
      20_000,
      'status temperature 130',
    );
    const seconds = (Date.now() - started) / 1000;
    const patches = cloud!.controller.status.patches - before;
    expect(patches).toBeGreaterThanOrEqual(1);
    expect(patches).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
  });

  it('an edge restarted while the cloud is unreachable keeps its devices, and what it buffered arrives later', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const edge = edges.shift()!;
    const port = cloud!.port;
    await cloud!.stop();
    cloud = undefined;
    await edge.stop();
    const again = await startEdge({ node: 'edge-1', cloudUrl: `http://127.0.0.1:${port}`, dataDir: edge.dataDir });
    edges.push(again);
    // Offline: the twin still knows the device and accepts readings.
    expect(again.twin.getTwin('default/pump')?.desired.temperature?.value).toBe(12);
    await again.twin.report('default/pump', { temperature: { value: 77 } });
    expect(again.sync.connected).toBe(false);
    cloud = await startCloud({ kubeconfig: proxy!.kubeconfig, dataDir: cloudDir, port });
    await waitFor(
      async () => statusReported(await getDevice(kube!, 'pump'), 'temperature') === '77',
      30_000,
      'buffered reading in status',
    );
    expect(again.sync.hub.connects).toBe(1);
  });

  it('a reading the twin committed while cloud sync was not running (a crash before the outbox write) still reaches status', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const edge = edges.find((e) => e.node === 'edge-1')!;
    await edge.sync.stop();
    await edge.twin.report('default/pump', { temperature: { value: 88 } });
    edge.sync = new EdgeCloudSync({
      twin: edge.twin,
      dataDir: edge.dataDir,
      cloudUrl: `http://127.0.0.1:${cloud!.port}`,
      nodeName: 'edge-1',
      keepaliveMs: 2000,
      logger,
    });
    await edge.sync.start();
    await waitFor(
      async () => statusReported(await getDevice(kube!, 'pump'), 'temperature') === '88',
      20_000,
      'status 88',
    );
  });

  it('a websocket with an unknown node token is refused with 401', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const ws = new WebSocket(`ws://127.0.0.1:${cloud!.port}/v1/connect`, {
      headers: { authorization: 'Bearer etn.forged', 'x-edgetwin-node': 'edge-1' },
    });
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    ws.terminate();
    expect(status).toBe(401);
  });

  it('a node that stops answering pings is dropped after the keepalive interval and listed as disconnected', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const port = cloud!.port;
    const token = cloud!.store.createJoinToken(60_000).token;
    const joined = await fetch(`http://127.0.0.1:${port}/v1/join`, {
      method: 'POST',
      body: JSON.stringify({ node: 'mute', token }),
    });
    const { nodeToken } = (await joined.json()) as { nodeToken: string };
    // A client that never answers pings, like an edge whose network silently went away.
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/connect`, {
      headers: { authorization: `Bearer ${nodeToken}`, 'x-edgetwin-node': 'mute' },
      autoPong: false,
    });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise((resolve) => ws.on('open', resolve));
    await waitFor(() => cloud!.store.listNodes().find((n) => n.name === 'mute')?.connected, 5000, 'mute connected');
    const code = await closed;
    expect(code).toBe(1006); // terminated by the cloud, no close handshake
    await waitFor(
      () => cloud!.store.listNodes().find((n) => n.name === 'mute')?.connected === false,
      5000,
      'mute disconnected',
    );
  });

  it('an edge that hears nothing from the cloud for three keepalive intervals drops the link and dials again', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    // This cloud pings only every minute, so after the first sync it is silent.
    const quiet = await startCloud({ kubeconfig: kube.kubeconfig, dataDir: tempDir('quiet'), keepaliveMs: 60_000 });
    stops.push(() => quiet.stop());
    const token = quiet.store.createJoinToken(60_000).token;
    const edge = await startEdge({
      node: 'edge-quiet',
      cloudUrl: `http://127.0.0.1:${quiet.port}`,
      token,
      keepaliveMs: 300,
    });
    edges.push(edge);
    await waitFor(() => edge.sync.hub.connects >= 1, 10_000, 'first connection');
    await waitFor(() => edge.sync.hub.connects >= 2, 15_000, 'the edge to redial a silent cloud');
  });

  it('over TLS the edge joins and syncs through https and wss, trusting the cloud CA it was given', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const dir = tempDir('tls');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(join(dir, 'cert.pem'));
    const tlsCloud = await startCloud({
      kubeconfig: kube.kubeconfig,
      dataDir: join(dir, 'cloud'),
      tls: { cert, key: readFileSync(join(dir, 'key.pem')) },
    });
    stops.push(() => tlsCloud.stop());
    const token = tlsCloud.store.createJoinToken(60_000).token;
    const edge = await startEdge({
      node: 'edge-tls',
      cloudUrl: `https://127.0.0.1:${tlsCloud.port}`,
      token,
      ca: cert.toString(),
    });
    edges.push(edge);
    await kube.kubectl(['apply', '-f', '-'], deviceYaml('valve', 'edge-tls', 'thermo', '5'));
    await waitForDesired(edge, 'default/valve', 'temperature', 5);
    // Without the CA the same cloud is not trusted.
    const untrusting = await startEdge({ node: 'edge-tls-2', cloudUrl: `https://127.0.0.1:${tlsCloud.port}`, token });
    edges.push(untrusting);
    await waitFor(() => untrusting.sync.hub.lastError, 10_000, 'a TLS failure');
    expect(untrusting.sync.hub.lastError).toMatch(/self.signed|certificate/i);
  });
});
