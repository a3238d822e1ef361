import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudCore } from '@edgetwin/cloudcore';
import type { TwinChangeEvent } from '@edgetwin/device-twin';
import { waitFor, type KubeTestCluster } from '@edgetwin/sdk/testing';
import {
  deviceYaml,
  getDevice,
  kubectlSetDesired,
  modelYaml,
  removeTempDirs,
  specDesired,
  startCloud,
  startCluster,
  startEdge,
  statusReported,
  tempDir,
  waitForDesired,
  type TestEdge,
} from './harness.js';

let kube: KubeTestCluster | undefined;
let skipReason: string | undefined;
let cloud: CloudCore | undefined;
let cloudDir = '';
let cloudPort = 0;
let token = '';
const edges: TestEdge[] = [];
const ID = 'default/boiler';

function cloudUrl(): string {
  return `http://127.0.0.1:${cloudPort}`;
}

describe('cloud-joined mode against a real Kubernetes API server', () => {
  beforeAll(async () => {
    const k = await startCluster();
    if (typeof k === 'string') {
      skipReason = k;
      return;
    }
    kube = k;
    cloudDir = tempDir('cloud');
    cloud = await startCloud({ kubeconfig: kube.kubeconfig, dataDir: cloudDir });
    cloudPort = cloud.port;
    token = cloud.store.createJoinToken(3_600_000, { node: 'edge-a' }).token;
    await kube.kubectl(['apply', '-f', '-'], modelYaml('thermo'));
  }, 360_000);

  afterAll(async () => {
    for (const e of edges) await e.stop();
    await cloud?.stop();
    await kube?.stop();
    removeTempDirs();
  }, 60_000);

  it('a Device applied with kubectl reaches the edge twin with its desired values', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const edge = await startEdge({ node: 'edge-a', cloudUrl: cloudUrl(), token });
    edges.push(edge);
    await kube.kubectl(['apply', '-f', '-'], deviceYaml('boiler', 'edge-a', 'thermo', '30'));
    await waitForDesired(edge, ID, 'temperature', 30);
    expect(edge.twin.getTwin(ID)?.desired.enabled?.value).toBe(true);
    expect(edge.twin.getDevice(ID)?.protocolConfig).toEqual({ host: '127.0.0.1', port: 5020 });
    // edgecore starts the mappers of the protocols its cloud devices use.
    expect([...edge.protocols]).toEqual(['modbus']);
  });

  it('a desired value edited in Kubernetes reaches the edge twin', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const edge = edges[0]!;
    await kubectlSetDesired(kube, 'boiler', 0, '42');
    await waitForDesired(edge, ID, 'temperature', 42);
    expect(edge.twin.getTwin(ID)?.delta.temperature).toBe(42);
  });

  it('reported values and device state reach Device status, latest value winning', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const edge = edges[0]!;
    await edge.twin.report(ID, { temperature: { value: 21 }, humidity: { value: 40.5 } });
    await edge.twin.report(ID, { temperature: { value: 22 } });
    await edge.twin.setState(ID, 'online');
    await waitFor(
      async () => {
        const d = await getDevice(kube!, 'boiler');
        return (
          statusReported(d, 'temperature') === '22' &&
          statusReported(d, 'humidity') === '40.5' &&
          d.status?.state === 'online'
        );
      },
      20_000,
      'status with temperature 22, humidity 40.5, state online',
    );
    await waitFor(() => edge.sync.agent.outboxSize() === 0, 10_000, 'the outbox to empty once the cloud confirmed');
  });

  it('a desired value set at the edge while joined is written to the Device spec', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const edge = edges[0]!;
    await edge.twin.setDesired(ID, { temperature: 55 }, { source: 'http' });
    await waitFor(
      async () => specDesired(await getDevice(kube!, 'boiler'), 'temperature') === '55',
      20_000,
      'spec desired 55',
    );
    // The spec now agrees with the edge: nothing flips back.
    await waitFor(() => edge.sync.agent.outboxSize() === 0, 10_000, 'outbox empty');
    expect(edge.twin.getTwin(ID)?.desired.temperature?.value).toBe(55);
  });

  it('rapid desired writes at the edge converge on the last one, in the twin and in the spec, without flipping back', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const edge = edges[0]!;
    const seen: unknown[] = [];
    const watch = (e: TwinChangeEvent) => {
      if (e.id === ID && e.kind === 'desired' && e.changed.includes('temperature'))
        seen.push(e.snapshot.desired.temperature?.value);
    };
    for (const v of [80, 81, 82, 83, 84]) {
      await edge.twin.setDesired(ID, { temperature: v }, { source: 'http' });
      await new Promise((r) => setTimeout(r, 30));
    }
    edge.twin.on('change', watch);
    try {
      await waitFor(
        async () => specDesired(await getDevice(kube!, 'boiler'), 'temperature') === '84',
        20_000,
        'spec desired 84',
      );
      await waitFor(() => edge.sync.agent.outboxSize() === 0, 10_000, 'outbox empty');
      // Let the echoes of the earlier values arrive: none of them pulls the twin back.
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      edge.twin.off('change', watch);
    }
    expect(seen.filter((v) => v !== 84)).toEqual([]);
    expect(edge.twin.getTwin(ID)?.desired.temperature?.value).toBe(84);
    expect(specDesired(await getDevice(kube, 'boiler'), 'temperature')).toBe('84');
  });

  it('after an outage with changes on both sides nothing is lost: desired takes the cloud value, reported the edge value', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const edge = edges[0]!;
    await cloud!.stop();
    cloud = undefined;
    await waitFor(() => !edge.sync.connected, 10_000, 'the edge to notice the cloud is gone');

    // Cloud side, while the edge is offline: temperature desired changes in Kubernetes.
    await kubectlSetDesired(kube, 'boiler', 0, '60');
    // Edge side, offline: the twin keeps working; temperature desired also changes (conflict),
    // enabled desired changes only here, and new readings arrive.
    await edge.twin.setDesired(ID, { temperature: 70, enabled: false }, { source: 'http' });
    await edge.twin.report(ID, { temperature: { value: 26 } });
    await edge.twin.report(ID, { temperature: { value: 27 }, humidity: { value: 55 } });
    expect(edge.twin.getTwin(ID)?.reported.temperature?.value).toBe(27);
    expect(edge.sync.agent.outboxSize()).toBeGreaterThan(0);

    // cloudcore restarts with the same data dir: the node token still authenticates.
    cloud = await startCloud({ kubeconfig: kube.kubeconfig, dataDir: cloudDir, port: cloudPort });
    await waitFor(() => edge.sync.connected, 30_000, 'the edge to reconnect');
    await waitForDesired(edge, ID, 'temperature', 60, 30_000);
    // Only what changed came down: the Device, not its unchanged DeviceModel.
    expect(edge.sync.agent.received.lastInitialUpserts).toBe(1);
    await waitFor(
      async () => {
        const d = await getDevice(kube!, 'boiler');
        return (
          specDesired(d, 'enabled') === 'false' &&
          statusReported(d, 'temperature') === '27' &&
          statusReported(d, 'humidity') === '55'
        );
      },
      30_000,
      'edge changes in Kubernetes',
    );
    await waitFor(() => edge.sync.agent.outboxSize() === 0, 10_000, 'outbox empty');
    const d = await getDevice(kube, 'boiler');
    expect(specDesired(d, 'temperature')).toBe('60');
    expect(edge.twin.getTwin(ID)?.desired.enabled?.value).toBe(false);
  });

  it('two edge nodes: a device moved from one to the other leaves the first and reports through the second', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const a = edges[0]!;
    const b = await startEdge({
      node: 'edge-b',
      cloudUrl: cloudUrl(),
      token: cloud!.store.createJoinToken(3_600_000, { node: 'edge-b' }).token,
    });
    edges.push(b);
    await waitFor(() => b.sync.connected, 20_000, 'edge-b connected');
    await kube.kubectl(['patch', 'device', 'boiler', '--type', 'merge', '-p', '{"spec":{"nodeName":"edge-b"}}']);
    await waitFor(
      () => b.twin.getTwin(ID) !== undefined && a.twin.getTwin(ID) === undefined,
      20_000,
      'boiler to move to edge-b',
    );
    expect(b.twin.getTwin(ID)?.desired.temperature?.value).toBe(60);
    await b.twin.report(ID, { temperature: { value: 33 } });
    await waitFor(
      async () => statusReported(await getDevice(kube!, 'boiler'), 'temperature') === '33',
      20_000,
      'status from edge-b',
    );
    const nodes = cloud!.store.listNodes();
    expect(nodes.map((n) => [n.name, n.connected])).toEqual([
      ['edge-a', true],
      ['edge-b', true],
    ]);
  });

  it('a device deleted in Kubernetes leaves the edge twin', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const b = edges[1]!;
    await kube.kubectl(['delete', 'device', 'boiler']);
    await waitFor(() => b.twin.getTwin(ID) === undefined, 20_000, 'boiler gone from edge-b');
  });

  it('a desired value in Kubernetes that does not fit its type is left out; the device still reaches the edge', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const a = edges[0]!;
    await kube.kubectl(['apply', '-f', '-'], deviceYaml('oddball', 'edge-a', 'thermo', 'hot'));
    await waitFor(() => a.twin.getTwin('default/oddball'), 20_000, 'oddball on edge-a');
    const twin = a.twin.getTwin('default/oddball')!;
    expect(twin.desired.temperature).toBeUndefined();
    expect(twin.desired.enabled?.value).toBe(true);
    expect(a.sync.agent.invalid.get('default/oddball')).toMatch(
      /\/spec\/properties\/0\/desired\/value: expected an integer \(INT\), got "hot"/,
    );
    // Fixing it in Kubernetes fixes it on the edge.
    await kubectlSetDesired(kube, 'oddball', 0, '12');
    await waitForDesired(a, 'default/oddball', 'temperature', 12);
    expect(a.sync.agent.invalid.has('default/oddball')).toBe(false);
  });

  it('a wrong join token is refused and the edge never connects', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const res = await fetch(`${cloudUrl()}/v1/join`, {
      method: 'POST',
      body: JSON.stringify({ node: 'intruder', token: 'etj.not-a-token' }),
    });
    expect(res.status).toBe(401);
    const bad = await startEdge({ node: 'intruder', cloudUrl: cloudUrl(), token: 'etj.not-a-token' });
    edges.push(bad);
    await waitFor(() => bad.sync.hub.lastError, 10_000, 'the join to fail');
    expect(bad.sync.hub.lastError).toMatch(/refused the join of node intruder: 401/);
    expect(bad.sync.connected).toBe(false);
    expect(cloud!.store.listNodes().map((n) => n.name)).not.toContain('intruder');
  });
});
