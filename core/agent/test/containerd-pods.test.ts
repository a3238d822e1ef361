/**
 * The pod agent on Debian's containerd and runc (started by the test with private state and a
 * locally built busybox image, imported with `edgetwin images import`): a pod runs and logs, a
 * crashing container restarts with backoff, a failing exec liveness probe restarts it, delete
 * honours the grace period, and a restarted agent adopts the running containers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, missingPeer, waitFor } from '@edgetwin/sdk/testing';
import { logsCommand, type PodAgent } from '@edgetwin/agent';
import { startContainerd, writeBusyboxImage, BUSYBOX_IMAGE, type RunningContainerd } from '@edgetwin/agent/testing';
import { newAgent, pod, tempDir } from './helpers.js';

const skip =
  missingPeer('containerd', 'runc', 'ctr', 'containerd-shim-runc-v2') ??
  (process.getuid?.() === 0 ? undefined : 'needs root for containerd');

describe.skipIf(skip !== undefined)('pod agent, containerd runtime', () => {
  let ctr: RunningContainerd;
  let data: ReturnType<typeof tempDir>;
  const agents: PodAgent[] = [];

  beforeAll(async () => {
    ctr = await startContainerd();
    const file = join(ctr.dir, 'busybox.tar');
    writeBusyboxImage(file, BUSYBOX_IMAGE, ['sh']);
    const r = await ctr.importImage(file);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`imported ${file}`);
  }, 120_000);

  afterAll(async () => {
    await ctr?.stop();
  }, 60_000);

  afterEach(async () => {
    const last = agents.pop();
    await last?.stop({ deletePods: true });
    for (const a of agents.splice(0)) await a.stop();
    data?.remove();
  }, 60_000);

  function agent(): PodAgent {
    data ??= tempDir('agent-ctr');
    const a = newAgent(data.path, { runtime: 'containerd', containerdAddress: ctr.socket });
    agents.push(a);
    return a;
  }

  const box = (name: string, script: string, extra: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) =>
    pod({
      name,
      containers: [{ name: 'main', image: BUSYBOX_IMAGE, command: ['sh', '-c', script], ...extra }],
      spec: { hostNetwork: true, terminationGracePeriodSeconds: 2, ...spec },
    });

  it('a pod runs in a real container and `edgetwin logs` prints its output', async () => {
    data = tempDir('agent-ctr');
    const a = agent();
    await a.start();
    expect(a.runtimeName).toBe('containerd');
    await a.applyPods([
      box('hello', 'echo hello from $WHO in $(hostname); exec sleep 1000', {
        env: [{ name: 'WHO', value: 'containerd' }],
      }),
    ]);
    const s = await waitFor(
      () => (a.podStatus('default', 'hello')?.phase === 'Running' ? a.podStatus('default', 'hello') : undefined),
      60_000,
      'running',
    );
    expect(s.containerStatuses[0]?.containerID).toMatch(/^[0-9a-f]{64}$/);
    let out = '';
    const sink = { write: (c: string | Buffer) => (out += c.toString()) };
    await waitFor(
      async () => {
        out = '';
        return (
          (await logsCommand(['hello', '--data-dir', data.path], { stdout: sink, stderr: sink })) === 0 &&
          out.includes('hello from containerd')
        );
      },
      20_000,
      'log line',
    );
    expect(out).not.toMatch(/stdout F/);
  });

  it('a crashing container restarts with CrashLoopBackOff, and a tcp readiness probe marks a listener ready', async () => {
    data = tempDir('agent-ctr');
    const a = agent();
    await a.start();
    const port = await freePort();
    await a.applyPods([
      box('crash', 'echo crashing; exit 2'),
      box('tcp', `exec nc -lk -p ${port} -e true`, { readinessProbe: { tcpSocket: { port }, periodSeconds: 1 } }),
    ]);
    const s = await waitFor(
      () =>
        (a.podStatus('default', 'crash')?.containerStatuses[0]?.restartCount ?? 0) >= 2
          ? a.podStatus('default', 'crash')
          : undefined,
      60_000,
      '2 restarts',
    );
    expect(s.containerStatuses[0]?.lastState.terminated?.exitCode).toBe(2);
    await waitFor(
      () => a.podStatus('default', 'crash')?.containerStatuses[0]?.state.waiting?.reason === 'CrashLoopBackOff',
      30_000,
      'CrashLoopBackOff',
    );
    await waitFor(() => a.podStatus('default', 'tcp')?.containerStatuses[0]?.ready, 60_000, 'tcp ready');
  });

  it('a failing exec liveness probe restarts the container', async () => {
    data = tempDir('agent-ctr');
    const a = agent();
    await a.start();
    await a.applyPods([
      box('live', 'touch /tmp/healthy; sleep 3; rm /tmp/healthy; exec sleep 1000', {
        livenessProbe: { exec: { command: ['test', '-f', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 2 },
      }),
    ]);
    const s = await waitFor(
      () =>
        (a.podStatus('default', 'live')?.containerStatuses[0]?.restartCount ?? 0) >= 1
          ? a.podStatus('default', 'live')
          : undefined,
      60_000,
      'restart by liveness',
    );
    expect(s.containerStatuses[0]?.lastState.terminated?.message).toContain('liveness probe failed');
  });

  it('a restarted agent adopts running containers, and delete removes them', async () => {
    data = tempDir('agent-ctr');
    const first = agent();
    await first.start();
    await first.applyPods([box('keep', 'exec sleep 1000')]);
    const s1 = await waitFor(
      () => (first.podStatus('default', 'keep')?.phase === 'Running' ? first.podStatus('default', 'keep') : undefined),
      60_000,
      'running',
    );
    const id = s1.containerStatuses[0]?.containerID;
    await first.stop();
    const second = agent();
    await second.start();
    const s2 = await waitFor(
      () =>
        second.podStatus('default', 'keep')?.containerStatuses[0]?.state.running && second.podStatus('default', 'keep'),
      30_000,
      'adopted',
    );
    expect(s2.containerStatuses[0]?.containerID).toBe(id);
    expect(s2.containerStatuses[0]?.restartCount).toBe(0);
    expect(await second.deletePod('default', 'keep', { gracePeriodSeconds: 1 })).toBe(true);
    expect(second.listPods()).toHaveLength(0);
  });

  it('configMap, emptyDir and hostPath volumes are mounted, and an HTTP readiness probe makes the pod Ready', async () => {
    data = tempDir('agent-ctr');
    const host = tempDir('hostpath');
    const a = agent();
    await a.start();
    a.applyConfigMaps([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'web-config', namespace: 'default' },
        data: { 'index.html': 'hello from a configMap' },
      },
    ]);
    const port = await freePort();
    await a.applyPods([
      box(
        'web',
        `cp /config/index.html /scratch/; echo written > /host/out.txt; exec httpd -f -p 127.0.0.1:${port} -h /scratch`,
        {
          volumeMounts: [
            { name: 'config', mountPath: '/config', readOnly: true },
            { name: 'scratch', mountPath: '/scratch' },
            { name: 'host', mountPath: '/host' },
          ],
          readinessProbe: { httpGet: { path: '/index.html', port }, periodSeconds: 1 },
        },
        {
          volumes: [
            { name: 'config', configMap: { name: 'web-config' } },
            { name: 'scratch', emptyDir: {} },
            { name: 'host', hostPath: { path: host.path } },
          ],
        },
      ),
    ]);
    try {
      await waitFor(
        () => a.podStatus('default', 'web')?.conditions.find((c) => c.type === 'Ready')?.status === 'True',
        60_000,
        'Ready',
      );
      const res = await fetch(`http://127.0.0.1:${port}/index.html`);
      expect(await res.text()).toBe('hello from a configMap');
      expect(readFileSync(join(host.path, 'out.txt'), 'utf8').trim()).toBe('written');
    } finally {
      host.remove();
    }
  });

  it('a containerd pod waits while containerd is down and starts once containerd comes up', async () => {
    data = tempDir('agent-ctr');
    const later = tempDir('containerd-later');
    const a = newAgent(data.path, {
      runtime: 'auto',
      containerdAddress: join(later.path, 'containerd.sock'),
      containerdTimeoutMs: 5000,
    });
    agents.push(a);
    let second: RunningContainerd | undefined;
    try {
      await a.start();
      await a.applyPods([box('patient', 'exec sleep 1000', {}, { runtimeClassName: 'containerd' })]);
      await waitFor(
        () => a.podStatus('default', 'patient')?.reason === 'RuntimeUnavailable',
        10_000,
        'RuntimeUnavailable',
      );
      second = await startContainerd({ dir: later.path });
      const file = join(later.path, 'busybox.tar');
      writeBusyboxImage(file, BUSYBOX_IMAGE, ['sh']);
      expect((await second.importImage(file)).code).toBe(0);
      await waitFor(
        () => a.podStatus('default', 'patient')?.phase === 'Running',
        90_000,
        'running after containerd came up',
      );
      await a.stop({ deletePods: true });
      agents.pop();
    } finally {
      await second?.stop();
      later.remove();
    }
  }, 150_000);

  it('memory and cpu limits reach the container cgroup', async () => {
    data = tempDir('agent-ctr');
    const a = agent();
    await a.start();
    await a.applyPods([
      box(
        'limited',
        [
          // cgroup v1 files first, cgroup v2 (memory.max, cpu.max) otherwise
          'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
          'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || { read q p < /sys/fs/cgroup/cpu.max; echo $q; }',
          'exec sleep 1000',
        ].join('; '),
        {
          resources: { limits: { memory: '64Mi', cpu: '250m' } },
        },
      ),
    ]);
    let out = '';
    const sink = { write: (c: string | Buffer) => (out += c.toString()) };
    await waitFor(
      async () => {
        out = '';
        return (
          (await logsCommand(['limited', '--data-dir', data.path], { stdout: sink, stderr: sink })) === 0 &&
          out.split('\n').length >= 3
        );
      },
      30_000,
      'limits printed',
    );
    expect(out.split('\n').slice(0, 2)).toEqual([String(64 * 1024 * 1024), '25000']);
  });

  it('a pod whose image was never imported waits with ErrImageNeverPull', async () => {
    data = tempDir('agent-ctr');
    const a = agent();
    await a.start();
    await a.applyPods([
      pod({
        name: 'noimg',
        containers: [{ name: 'c', image: 'docker.io/library/nginx:1' }],
        spec: { hostNetwork: true },
      }),
    ]);
    const w = await waitFor(
      () => {
        const waiting = a.podStatus('default', 'noimg')?.containerStatuses[0]?.state.waiting;
        return waiting?.reason === 'ErrImageNeverPull' ? waiting : undefined;
      },
      30_000,
      'ErrImageNeverPull',
    );
    expect(w.message).toContain('edgetwin images import');
  });
});
