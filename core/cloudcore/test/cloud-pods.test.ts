/**
 * Cloud-joined pods and Nodes: edgecore joined to cloudcore runs the pods Kubernetes binds to
 * its node (process runtime), their status is patched back, the edge is a Node with a Lease that
 * turns NotReady when the edge goes away (its pods are not deleted), pods keep running while
 * cloudcore is down and are not started twice when it returns. Kubernetes here is the real CRD
 * API server behind the core API simulator (./core-api), one endpoint as in a real cluster.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentPaths } from '@edgetwin/agent';
import type { CloudCore } from '@edgetwin/cloudcore';
import { EdgeCore } from '@edgetwin/edgecore';
import { captureLogs, freePort, pidsInFile, signalPid, waitFor, type KubeTestCluster } from '@edgetwin/sdk/testing';
import {
  deviceYaml,
  logger,
  modelYaml,
  removeTempDirs,
  startCloud,
  startCluster,
  startEdge,
  tempDir,
  waitForDesired,
} from './harness.js';
import { startCoreApiSim, type CoreApiSim } from './core-api/server.js';
import type { Obj } from './core-api/store.js';

const NODE = 'edge-p1';
const GRACE_MS = 8000;

let kube: KubeTestCluster | undefined;
let skipReason: string | undefined;
let sim: CoreApiSim | undefined;
let cloud: CloudCore | undefined;
let cloudDir = '';
let cloudPort = 0;
let token = '';
let edge: EdgeCore | undefined;
let edgeDir = '';
let work = '';

interface PodJson extends Obj {
  status?: {
    phase?: string;
    hostIP?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ name: string; restartCount: number; state: { running?: unknown } }>;
  };
}
interface NodeJson extends Obj {
  status?: {
    capacity?: Record<string, string>;
    addresses?: Array<{ type: string; address: string }>;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

const pod = (name: string): PodJson | undefined => {
  try {
    return sim!.store.get('pods', 'default', name) as PodJson;
  } catch {
    return undefined;
  }
};
const node = (): NodeJson | undefined => {
  try {
    return sim!.store.get('nodes', undefined, NODE) as NodeJson;
  } catch {
    return undefined;
  }
};
const ready = (n: NodeJson | undefined) => n?.status?.conditions?.find((c) => c.type === 'Ready');
/** Is a pid alive (and not a zombie waiting for a parent that no longer reaps it)? */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

async function startCloudcore(): Promise<CloudCore> {
  return startCloud({
    kubeconfig: sim!.kubeconfig,
    dataDir: cloudDir,
    port: cloudPort,
    keepaliveMs: 1500,
    nodeGracePeriodMs: GRACE_MS,
  });
}

async function startEdgecore(): Promise<EdgeCore> {
  const e = new EdgeCore({
    devicesDir: tempDir('unused-devices'),
    dataDir: edgeDir,
    nodeName: NODE,
    logger,
    mqttPort: 0,
    httpPort: 0,
    mappers: false,
    podRuntime: 'process',
    cloudUrl: `http://127.0.0.1:${cloudPort}`,
    cloudToken: token,
    cloudKeepaliveMs: 1500,
  });
  await e.start();
  return e;
}

function tickerPod(name: string, startsFile: string): Obj {
  return {
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: NODE,
      runtimeClassName: 'process',
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 2,
      containers: [
        { name: 'main', image: 'busybox', command: ['sh', '-c', `echo $$ >> ${startsFile}; exec sleep 1000`] },
      ],
    },
  };
}

describe('cloud-joined pods and Nodes', () => {
  beforeAll(async () => {
    const k = await startCluster();
    if (typeof k === 'string') {
      skipReason = k;
      return;
    }
    kube = k;
    cloudDir = tempDir('cloud-pods');
    edgeDir = tempDir('edge-pods');
    work = tempDir('pods-work');
    sim = await startCoreApiSim({ upstreamKubeconfig: kube.kubeconfig, dir: cloudDir });
    cloudPort = await freePort();
    cloud = await startCloudcore();
    token = cloud.store.createJoinToken(3_600_000).token;
    edge = await startEdgecore();
  }, 360_000);

  afterAll(async () => {
    // Pods outlive edgecore by design: delete them, then stop everything.
    if (edge?.agent)
      for (const p of edge.agent.listPods()) await edge.agent.deletePod(p.namespace, p.name, { gracePeriodSeconds: 0 });
    await edge?.stop();
    // A failed test may leave pod processes behind: every pod here records its pid.
    for (const f of ['ticker.starts', 'reader.starts', 'counter.starts'])
      for (const pid of work ? pidsInFile(join(work, f)) : []) if (alive(pid)) signalPid(pid, 'SIGKILL');
    await cloud?.stop();
    await sim?.stop();
    await kube?.stop();
    removeTempDirs();
  }, 120_000);

  it('a pod bound to the node runs on the edge and its status reaches Kubernetes', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const file = join(work, 'ticker.starts');
    sim!.store.create('pods', 'default', tickerPod('ticker', file));
    const running = await waitFor(
      () => {
        const p = pod('ticker');
        return p?.status?.phase === 'Running' && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True'
          ? p
          : undefined;
      },
      30_000,
      'pod ticker Running and Ready in Kubernetes',
    );
    expect(running.status?.containerStatuses?.[0]?.state.running).toBeDefined();
    expect(running.status?.hostIP).toBeTruthy();
    // Running means the process exists; its first shell line may not have run yet.
    await waitFor(() => pidsInFile(file).length > 0, 10_000, 'the pod to record its pid');
    expect(pidsInFile(file)).toHaveLength(1);
    expect(alive(pidsInFile(file)[0]!)).toBe(true);
    expect(edge!.agent!.listPods().map((p) => `${p.source}:${p.key}`)).toEqual(['cloud:default/ticker']);
  });

  it('the edge is a Kubernetes Node with the edge role, its capacity and Ready=True, and a renewed Lease', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const n = await waitFor(() => (ready(node())?.status === 'True' ? node() : undefined), 20_000, 'Node Ready');
    expect(n.metadata.labels?.['node-role.kubernetes.io/edge']).toBe('');
    expect(n.status?.capacity).toMatchObject({ cpu: String(cpus().length), pods: '110' });
    expect(n.status?.capacity?.memory).toMatch(/^\d+Ki$/);
    expect(n.status?.addresses?.map((a) => a.type)).toEqual(['InternalIP', 'Hostname']);
    const renewed = () =>
      sim!.store.get('leases', 'kube-node-lease', NODE).spec as { renewTime: string; holderIdentity: string };
    const first = await waitFor(() => renewed(), 10_000, 'the Lease');
    expect(first.holderIdentity).toBe(NODE);
    await waitFor(() => renewed().renewTime > first.renewTime, 10_000, 'the Lease renewed by heartbeats');
  });

  it('a ConfigMap a relayed pod mounts reaches the edge', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    sim!.store.create('configmaps', 'default', { metadata: { name: 'greeting' }, data: { text: 'hello edge' } });
    // The process runtime has no mount namespace: mount where the agent writes the volume.
    const mount = join(agentPaths(edgeDir).volumes, 'default_reader', 'configmap', 'cfg');
    const out = join(work, 'reader.out');
    sim!.store.create('pods', 'default', {
      metadata: { name: 'reader' },
      spec: {
        nodeName: NODE,
        runtimeClassName: 'process',
        terminationGracePeriodSeconds: 1,
        volumes: [{ name: 'cfg', configMap: { name: 'greeting' } }],
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: [
              'sh',
              '-c',
              `echo $$ >> ${join(work, 'reader.starts')}; cat ${mount}/text > ${out}; exec sleep 1000`,
            ],
            volumeMounts: [{ name: 'cfg', mountPath: mount }],
          },
        ],
      },
    });
    await waitFor(
      () => existsSync(out) && readFileSync(out, 'utf8') === 'hello edge',
      30_000,
      'the pod read its ConfigMap',
    );
    await waitFor(() => pod('reader')?.status?.phase === 'Running', 20_000, 'reader Running in Kubernetes');
  });

  it('a pod the edge cannot run is marked Failed in Kubernetes, with the reason', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    sim!.store.create('pods', 'default', {
      metadata: { name: 'unsupported' },
      spec: {
        nodeName: NODE,
        runtimeClassName: 'process',
        initContainers: [{ name: 'init', image: 'busybox', command: ['true'] }],
        containers: [{ name: 'main', image: 'busybox', command: ['sleep', '1000'] }],
      },
    });
    const failed = await waitFor(
      () => {
        const st = pod('unsupported')?.status as { phase?: string; reason?: string; message?: string } | undefined;
        return st?.phase === 'Failed' ? st : undefined;
      },
      20_000,
      'the pod Failed in Kubernetes',
    );
    expect(failed.reason).toBe('EdgeTwinRejected');
    expect(failed.message).toMatch(/initContainers is not supported/);
    expect(edge!.agent!.listPods().map((p) => p.name)).not.toContain('unsupported');
  });

  it('an edge gone for longer than the grace period turns its Node NotReady, and its pods are not deleted', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const pid = pidsInFile(join(work, 'ticker.starts'))[0]!;
    await edge!.stop();
    edge = undefined;
    const cond = await waitFor(
      () => (ready(node())?.status === 'Unknown' ? ready(node()) : undefined),
      GRACE_MS + 15_000,
      'Node NotReady',
    );
    expect(cond.reason).toBe('NodeStatusUnknown');
    expect(cond.message).toMatch(/not evicted/);
    // Kubernetes keeps the pod bound, and the pod keeps running on the edge.
    expect(pod('ticker')?.metadata.deletionTimestamp).toBeUndefined();
    expect(pod('ticker')?.spec).toMatchObject({ nodeName: NODE });
    expect(alive(pid)).toBe(true);
    // The edge returns: Ready again, the same process adopted, not a second one.
    edge = await startEdgecore();
    await waitFor(() => ready(node())?.status === 'True', 20_000, 'Node Ready again');
    expect(pidsInFile(join(work, 'ticker.starts'))).toEqual([pid]);
    expect(alive(pid)).toBe(true);
  });

  it('pods keep running while cloudcore is stopped and are not duplicated after it returns', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const file = join(work, 'ticker.starts');
    const pid = pidsInFile(file)[0]!;
    await cloud!.stop();
    cloud = undefined;
    await waitFor(() => edge!.cloud!.connected === false, 10_000, 'edge offline');
    // Meanwhile in Kubernetes: the reader pod is removed at once (grace 0).
    sim!.store.delete('pods', 'default', 'reader', { gracePeriodSeconds: 0 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(alive(pid)).toBe(true);
    expect(
      edge!
        .agent!.listPods()
        .map((p) => p.name)
        .sort(),
    ).toEqual(['reader', 'ticker']);

    cloud = await startCloudcore();
    await waitFor(() => edge!.cloud!.connected, 20_000, 'edge reconnected');
    // The full set after the reconnect: reader is gone on the edge too, ticker is the same process.
    await waitFor(() => edge!.agent!.listPods().length === 1, 20_000, 'reader deleted on the edge');
    expect(edge!.agent!.listPods().map((p) => p.name)).toEqual(['ticker']);
    expect(pidsInFile(file)).toEqual([pid]);
    expect(alive(pid)).toBe(true);
    expect(pod('ticker')?.status?.phase).toBe('Running');
  });

  it('a pod restarted while cloudcore is down shows its restart in Kubernetes once cloudcore is back', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const file = join(work, 'counter.starts');
    sim!.store.create('pods', 'default', tickerPod('counter', file));
    await waitFor(() => pod('counter')?.status?.phase === 'Running', 30_000, 'counter Running in Kubernetes');
    await cloud!.stop();
    cloud = undefined;
    await waitFor(() => edge!.cloud!.connected === false, 10_000, 'edge offline');
    signalPid(pidsInFile(file)[0], 'SIGKILL');
    // The agent restarts it on its own, offline.
    await waitFor(
      () => {
        const st = edge!.agent!.podStatus('default', 'counter')?.containerStatuses[0];
        return st?.restartCount === 1 && st.state.running !== undefined;
      },
      30_000,
      'counter restarted on the edge',
    );
    expect(pod('counter')?.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    cloud = await startCloudcore();
    await waitFor(
      () => pod('counter')?.status?.containerStatuses?.[0]?.restartCount === 1,
      30_000,
      'the restart reported to Kubernetes',
    );
    expect(pidsInFile(file)).toHaveLength(2);
  });

  it('a pod deleted in Kubernetes is stopped on the edge, then its object is removed', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const pid = pidsInFile(join(work, 'ticker.starts'))[0]!;
    sim!.store.delete('pods', 'default', 'ticker', { gracePeriodSeconds: 2 });
    expect(pod('ticker')?.metadata.deletionTimestamp).toBeDefined();
    await waitFor(() => pod('ticker') === undefined, 30_000, 'the pod object removed after the edge stopped it');
    expect(alive(pid)).toBe(false);
    expect(edge!.agent!.listPods().map((p) => p.name)).toEqual(['counter']);
  });

  it('an edge that does not come back after a cloudcore restart still turns NotReady after the grace period', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    await waitFor(() => ready(node())?.status === 'True', 20_000, 'Node Ready');
    await edge!.stop();
    edge = undefined;
    await cloud!.stop();
    cloud = await startCloudcore();
    const cond = await waitFor(
      () => (ready(node())?.status === 'Unknown' ? ready(node()) : undefined),
      GRACE_MS + 15_000,
      'Node NotReady after the restart',
    );
    expect(cond.reason).toBe('NodeStatusUnknown');
    expect(pod('counter')?.metadata.deletionTimestamp).toBeUndefined();
    edge = await startEdgecore();
    await waitFor(() => ready(node())?.status === 'True', 20_000, 'Node Ready again');
  });

  it('cloudcore against a cluster without the core API says so once and still syncs devices', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const logs = captureLogs('info');
    const dir = tempDir('cloud-nocore');
    const plain = await startCloud({ kubeconfig: kube.kubeconfig, dataDir: dir, logger: logs.logger });
    try {
      expect(plain.coreApi.enabled).toBe(false);
      expect(logs.find('Node and Pod sync are disabled')).toHaveLength(1);
      await kube.kubectl(['apply', '-f', '-'], modelYaml('nocore-model'));
      await kube.kubectl(['apply', '-f', '-'], deviceYaml('nocore-dev', 'edge-nocore', 'nocore-model', '42'));
      const e = await startEdge({
        node: 'edge-nocore',
        cloudUrl: `http://127.0.0.1:${plain.port}`,
        token: plain.store.createJoinToken(60_000).token,
      });
      try {
        await waitForDesired(e, 'default/nocore-dev', 'temperature', 42);
      } finally {
        await e.stop();
      }
    } finally {
      await plain.stop();
    }
  });
});
