/**
 * Offline autonomy and pod sources: a restarted agent adopts the processes still running from its
 * SQLite state (no duplicates), restarts the ones that died meanwhile, and pods from the cloud
 * (`applyPods`) and from files are validated, with unsupported fields refused by name.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pidsInFile, signalPid, waitFor } from '@edgetwin/sdk/testing';
import type { EdgeTwinError } from '@edgetwin/sdk';
import type { PodAgent } from '@edgetwin/agent';
import { alive, newAgent, pod, tempDir, writeManifest } from './helpers.js';

describe('pod agent restarts and pod sources', () => {
  let data: ReturnType<typeof tempDir>;
  let podsDir: ReturnType<typeof tempDir>;
  let work: ReturnType<typeof tempDir>;
  const agents: PodAgent[] = [];

  beforeEach(() => {
    data = tempDir('agent-data');
    podsDir = tempDir('pods');
    work = tempDir('work');
  });

  afterEach(async () => {
    const last = agents.pop();
    await last?.stop({ deletePods: true });
    for (const a of agents.splice(0)) await a.stop();
    data.remove();
    podsDir.remove();
    work.remove();
  });

  function started(): PodAgent {
    const a = newAgent(data.path, { podsDir: podsDir.path });
    agents.push(a);
    return a;
  }

  it('a restarted agent adopts running processes instead of starting them again', async () => {
    const starts = join(work.path, 'starts');
    writeManifest(
      podsDir.path,
      'keep.yaml',
      pod({
        name: 'keep',
        containers: [{ name: 'c', image: 'host', command: ['sh', '-c', `echo $$ >> ${starts}; exec sleep 1000`] }],
      }),
    );
    const first = started();
    await first.start();
    await waitFor(
      () => first.podStatus('default', 'keep')?.phase === 'Running' && pidsInFile(starts).length === 1,
      10_000,
      'pod running',
    );
    const pid = pidsInFile(starts)[0]!;
    await first.stop();
    expect(alive(pid)).toBe(true);

    const second = started();
    await second.start();
    const s = await waitFor(
      () =>
        second.podStatus('default', 'keep')?.containerStatuses[0]?.state.running && second.podStatus('default', 'keep'),
      10_000,
      'adopted',
    );
    // Several sync rounds later there is still exactly one process, the same one.
    await new Promise((r) => setTimeout(r, 1000));
    expect(pidsInFile(starts)).toEqual([pid]);
    expect(s.containerStatuses[0]?.restartCount).toBe(0);
    expect(alive(pid)).toBe(true);
    // The adopted process is really managed: deleting the pod ends it.
    await second.deletePod('default', 'keep', { gracePeriodSeconds: 1 });
    await waitFor(() => !alive(pid), 5000, 'adopted process stopped');
  });

  it('a process that died while the agent was down is restarted when the agent comes back', async () => {
    const starts = join(work.path, 'starts');
    writeManifest(
      podsDir.path,
      'p.yaml',
      pod({
        name: 'p',
        containers: [{ name: 'c', image: 'host', command: ['sh', '-c', `echo $$ >> ${starts}; exec sleep 1000`] }],
      }),
    );
    const first = started();
    await first.start();
    await waitFor(() => pidsInFile(starts).length === 1, 10_000, 'first start');
    const pid = pidsInFile(starts)[0]!;
    await first.stop();
    signalPid(pid, 'SIGKILL');
    await waitFor(() => !alive(pid), 5000, 'killed');

    const second = started();
    await second.start();
    const s = await waitFor(
      () => (pidsInFile(starts).length === 2 ? second.podStatus('default', 'p') : undefined),
      10_000,
      'restarted',
    );
    expect(s.containerStatuses[0]?.restartCount).toBe(1);
    expect(s.containerStatuses[0]?.lastState.terminated).toBeDefined();
  });

  it('a pods directory that cannot be read does not delete its pods, a broken file keeps its pod', async () => {
    const starts = join(work.path, 'starts');
    const manifest = pod({
      name: 'steady',
      containers: [{ name: 'c', image: 'host', command: ['sh', '-c', `echo $$ >> ${starts}; exec sleep 1000`] }],
    });
    writeManifest(podsDir.path, 'steady.yaml', manifest);
    const agent = started();
    const rejected: string[] = [];
    agent.on('podRejected', (ev) => rejected.push(ev.error.message));
    await agent.start();
    await waitFor(() => agent.podStatus('default', 'steady')?.phase === 'Running', 10_000, 'running');
    writeFileSync(join(podsDir.path, 'steady.yaml'), 'kind: Pod\nmetadata: [unclosed\n');
    await waitFor(() => rejected.length === 1, 5000, 'broken file reported');
    const moved = `${podsDir.path}-moved`;
    renameSync(podsDir.path, moved);
    await waitFor(() => rejected.length === 2, 5000, 'unreadable directory reported');
    expect(rejected[1]).toContain('cannot be read');
    renameSync(moved, podsDir.path);
    writeManifest(podsDir.path, 'steady.yaml', manifest);
    // Several scans later: the same single process, never restarted.
    await new Promise((r) => setTimeout(r, 1000));
    expect(agent.podStatus('default', 'steady')?.containerStatuses[0]?.restartCount).toBe(0);
    expect(pidsInFile(starts)).toHaveLength(1);
  });

  it('cloud pods are applied, replaced on resync and deleted by deletionTimestamp', async () => {
    const agent = newAgent(data.path);
    agents.push(agent);
    await agent.start();
    const keys: string[] = [];
    agent.on('podStatus', (ev) => {
      if (ev.status.phase === 'Running' && !keys.includes(ev.key)) keys.push(ev.key);
    });
    const mk = (name: string) =>
      pod({
        name,
        namespace: 'edge',
        containers: [{ name: 'c', image: 'host', command: ['sleep', '1000'] }],
        spec: {
          terminationGracePeriodSeconds: 1,
          nodeName: 'edge-test',
          dnsPolicy: 'ClusterFirst',
          schedulerName: 'default-scheduler',
        },
      });
    const r1 = await agent.applyPods([mk('a'), mk('b')]);
    expect(r1.applied).toEqual(['edge/a', 'edge/b']);
    await waitFor(() => keys.length === 2, 10_000, 'both running (status events)');
    const r2 = await agent.applyPods([mk('a')], { replace: true });
    expect(r2.deleted).toEqual(['edge/b']);
    expect(agent.listPods().map((p) => p.key)).toEqual(['edge/a']);
    const gone = {
      ...mk('a'),
      metadata: {
        name: 'a',
        namespace: 'edge',
        deletionTimestamp: new Date().toISOString(),
        deletionGracePeriodSeconds: 1,
      },
    };
    const r3 = await agent.applyPods([gone]);
    expect(r3.deleted).toEqual(['edge/a']);
    expect(agent.listPods()).toHaveLength(0);
  });

  it('unsupported pod fields are refused with the field named, not ignored', async () => {
    const agent = newAgent(data.path, { podsDir: podsDir.path });
    agents.push(agent);
    const rejected: EdgeTwinError[] = [];
    agent.on('podRejected', (ev) => rejected.push(ev.error));
    writeManifest(podsDir.path, 'bad.yaml', {
      ...pod({ name: 'bad', containers: [{ name: 'c', image: 'host', command: ['true'] }] }),
      spec: {
        containers: [{ name: 'c', image: 'host', command: ['true'] }],
        initContainers: [{ name: 'i', image: 'x' }],
      },
    });
    await agent.start();
    await waitFor(() => rejected.length > 0, 5000, 'file rejected');
    expect(rejected[0]?.message).toContain('spec.initContainers is not supported');
    expect(rejected[0]?.details.file).toBe(join(podsDir.path, 'bad.yaml'));
    expect(agent.listPods()).toHaveLength(0);

    const r = await agent.applyPods([
      pod({
        name: 'env-from',
        containers: [
          {
            name: 'c',
            image: 'host',
            command: ['true'],
            env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
          },
        ],
      }),
      pod({
        name: 'two-probes',
        containers: [
          {
            name: 'c',
            image: 'host',
            command: ['true'],
            livenessProbe: { exec: { command: ['true'] }, tcpSocket: { port: 80 } },
          },
        ],
      }),
      pod({
        name: 'ctr-no-hostnet',
        containers: [{ name: 'c', image: 'busybox' }],
        spec: { runtimeClassName: 'containerd' },
      }),
    ]);
    expect(r.applied).toEqual([]);
    const msgs = r.rejected.map((x) => x.error.message);
    expect(msgs[0]).toContain('spec.containers[0].env[0].valueFrom is not supported');
    expect(msgs[1]).toContain('needs exactly one of exec, httpGet, tcpSocket');
    expect(msgs[2]).toContain('hostNetwork: true');
  });

  it('without containerd, auto mode runs pods as processes and containerd pods wait with the reason', async () => {
    const socket = join(work.path, 'no-containerd.sock');
    const strict = newAgent(data.path, { runtime: 'containerd', containerdAddress: socket, containerdTimeoutMs: 2000 });
    await expect(strict.start()).rejects.toMatchObject({ code: 'ET_UNAVAILABLE' });

    const agent = newAgent(data.path, { runtime: 'auto', containerdAddress: socket, containerdTimeoutMs: 2000 });
    agents.push(agent);
    await agent.start();
    expect(agent.runtimeName).toBe('process');
    const r = await agent.applyPods([
      pod({ name: 'plain', containers: [{ name: 'c', image: 'host', command: ['sleep', '1000'] }] }),
      pod({
        name: 'boxed',
        containers: [{ name: 'c', image: 'busybox' }],
        spec: { runtimeClassName: 'containerd', hostNetwork: true },
      }),
      pod({
        name: 'elsewhere',
        containers: [{ name: 'c', image: 'host', command: ['true'] }],
        spec: { nodeName: 'other-node' },
      }),
    ]);
    expect(r.rejected.map((x) => x.error.message)).toEqual([expect.stringContaining('bound to node "other-node"')]);
    await waitFor(() => agent.podStatus('default', 'plain')?.phase === 'Running', 10_000, 'process pod running');
    const boxed = await waitFor(
      () =>
        agent.podStatus('default', 'boxed')?.reason === 'RuntimeUnavailable'
          ? agent.podStatus('default', 'boxed')
          : undefined,
      10_000,
      'RuntimeUnavailable',
    );
    expect(boxed.message).toContain(socket);
    expect(boxed.phase).toBe('Pending');
  });

  it('a process-runtime pod that mounts a volume elsewhere than its host path waits with a clear reason', async () => {
    const agent = newAgent(data.path);
    agents.push(agent);
    await agent.start();
    await agent.applyPods([
      pod({
        name: 'vol',
        containers: [
          {
            name: 'c',
            image: 'host',
            command: ['sleep', '1000'],
            volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
          },
        ],
        spec: { volumes: [{ name: 'scratch', emptyDir: {} }] },
      }),
    ]);
    const w = await waitFor(
      () => agent.podStatus('default', 'vol')?.containerStatuses[0]?.state.waiting,
      10_000,
      'waiting',
    );
    expect(w.reason).toBe('CreateContainerConfigError');
    expect(w.message).toContain('cannot mount');
    // Retries (with backoff) keep telling the same reason.
    await new Promise((r) => setTimeout(r, 1500));
    expect(agent.podStatus('default', 'vol')?.containerStatuses[0]?.state.waiting?.reason).toBe(
      'CreateContainerConfigError',
    );
  });
});
