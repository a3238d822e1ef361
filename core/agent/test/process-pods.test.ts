/**
 * The pod agent with the `process` runtime: static pods from a manifest directory run as host
 * processes, crash and restart with growing backoff, get killed by a failing liveness probe,
 * become ready through an HTTP readiness probe, and are deleted with a grace period.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '@edgetwin/sdk/testing';
import type { PodAgent, PodStatus } from '@edgetwin/agent';
import { alive, newAgent, pod, tempDir, writeManifest } from './helpers.js';

describe('pod agent, process runtime', () => {
  let data: ReturnType<typeof tempDir>;
  let podsDir: ReturnType<typeof tempDir>;
  let work: ReturnType<typeof tempDir>;
  let agent: PodAgent | undefined;

  beforeEach(() => {
    data = tempDir('agent-data');
    podsDir = tempDir('pods');
    work = tempDir('work');
  });

  afterEach(async () => {
    await agent?.stop({ deletePods: true });
    agent = undefined;
    data.remove();
    podsDir.remove();
    work.remove();
  });

  const status = (name: string): PodStatus | undefined => agent?.podStatus('default', name);

  it('a static pod runs, becomes Ready and writes its output to the container log', async () => {
    writeManifest(
      podsDir.path,
      'hello.yaml',
      pod({
        name: 'hello',
        containers: [
          {
            name: 'main',
            image: 'host',
            command: ['sh', '-c', 'echo hello from $GREETING; exec sleep 1000'],
            env: [{ name: 'GREETING', value: 'edge' }],
          },
        ],
      }),
    );
    agent = newAgent(data.path, { podsDir: podsDir.path });
    await agent.start();
    const s = await waitFor(
      () =>
        status('hello')?.conditions.find((c) => c.type === 'Ready')?.status === 'True' ? status('hello') : undefined,
      15_000,
      'pod Ready',
    );
    expect(s.phase).toBe('Running');
    expect(s.containerStatuses[0]?.state.running).toBeDefined();
    const log = join(data.path, 'agent', 'logs');
    await waitFor(() => {
      const view = agent?.listPods().find((p) => p.name === 'hello');
      return view !== undefined;
    });
    await waitFor(() => findLogText(log).includes('hello from edge'), 10_000, 'log line');
  });

  it('a crashing container restarts with growing backoff and shows CrashLoopBackOff', async () => {
    const starts = join(work.path, 'starts');
    writeManifest(
      podsDir.path,
      'crash.yaml',
      pod({
        name: 'crash',
        containers: [{ name: 'c', image: 'host', command: ['sh', '-c', `date +%s%N >> ${starts}; exit 3`] }],
      }),
    );
    agent = newAgent(data.path, { podsDir: podsDir.path });
    const reasons = new Set<string>();
    agent.on('podStatus', (ev) => {
      const w = ev.status.containerStatuses[0]?.state.waiting;
      if (w) reasons.add(w.reason);
    });
    await agent.start();
    const lines = () => (existsSync(starts) ? readFileSync(starts, 'utf8').trim().split('\n') : []);
    await waitFor(
      () => lines().length >= 4 && (status('crash')?.containerStatuses[0]?.restartCount ?? 0) >= 3,
      20_000,
      '3 restarts',
    );
    const s = status('crash')!;
    expect(s.containerStatuses[0]?.lastState.terminated?.exitCode).toBe(3);
    expect(reasons.has('CrashLoopBackOff')).toBe(true);
    const times = lines().map((l) => Number(BigInt(l) / 1_000_000n));
    expect(times.length).toBeGreaterThanOrEqual(4);
    // Delays are 0, 400, 800 ms: the third restart waits at least twice as long as the second.
    const gap2 = times[2]! - times[1]!;
    const gap3 = times[3]! - times[2]!;
    expect(gap2).toBeGreaterThanOrEqual(400);
    expect(gap3).toBeGreaterThanOrEqual(800);
  });

  it('a container with restartPolicy Never that fails leaves the pod Failed', async () => {
    agent = newAgent(data.path);
    await agent.start();
    await agent.applyPods([
      pod({
        name: 'once',
        containers: [{ name: 'c', image: 'host', command: ['sh', '-c', 'exit 7'] }],
        spec: { restartPolicy: 'Never' },
      }),
    ]);
    const s = await waitFor(
      () => (status('once')?.phase === 'Failed' ? status('once') : undefined),
      10_000,
      'Failed phase',
    );
    expect(s.containerStatuses[0]?.state.terminated?.exitCode).toBe(7);
    expect(s.containerStatuses[0]?.restartCount).toBe(0);
  });

  it('a failing liveness probe kills the container and it is restarted', async () => {
    const healthy = join(work.path, 'healthy');
    writeFileSync(healthy, 'ok');
    agent = newAgent(data.path);
    await agent.start();
    await agent.applyPods([
      pod({
        name: 'live',
        containers: [
          {
            name: 'app',
            image: 'host',
            command: ['sleep', '1000'],
            livenessProbe: { exec: { command: ['test', '-f', healthy] }, periodSeconds: 1, failureThreshold: 2 },
          },
        ],
        spec: { terminationGracePeriodSeconds: 1 },
      }),
    ]);
    await waitFor(() => status('live')?.containerStatuses[0]?.state.running, 10_000, 'running');
    // Healthy for a while: no restart.
    await new Promise((r) => setTimeout(r, 2500));
    expect(status('live')?.containerStatuses[0]?.restartCount).toBe(0);
    rmSync(healthy);
    const s = await waitFor(
      () => ((status('live')?.containerStatuses[0]?.restartCount ?? 0) >= 1 ? status('live') : undefined),
      15_000,
      'restart by liveness',
    );
    expect(s.containerStatuses[0]?.lastState.terminated?.message).toContain('liveness probe failed');
  });

  it('an HTTP readiness probe decides when the pod is Ready', async () => {
    const port = await freePort();
    agent = newAgent(data.path);
    await agent.start();
    await agent.applyPods([
      pod({
        name: 'web',
        containers: [
          {
            name: 'http',
            image: 'host',
            // The server starts only when the test says so.
            command: [
              'sh',
              '-c',
              `while [ ! -f go ]; do sleep 0.1; done; exec /usr/bin/python3 -m http.server ${port} --bind 127.0.0.1`,
            ],
            workingDir: work.path,
            ports: [{ name: 'http', containerPort: port }],
            readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
          },
        ],
      }),
    ]);
    await waitFor(() => status('web')?.containerStatuses[0]?.state.running, 10_000, 'running');
    // Running, probed, but nothing listens yet: not ready.
    await new Promise((r) => setTimeout(r, 1500));
    expect(status('web')?.containerStatuses[0]?.ready).toBe(false);
    expect(status('web')?.conditions.find((c) => c.type === 'Ready')?.status).toBe('False');
    writeFileSync(join(work.path, 'go'), '');
    const s = await waitFor(
      () => (status('web')?.containerStatuses[0]?.ready ? status('web') : undefined),
      15_000,
      'ready',
    );
    expect(s.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('deleting a pod sends SIGTERM, waits the grace period, then kills', async () => {
    const pidGood = join(work.path, 'good.pid');
    const bye = join(work.path, 'bye');
    const pidStubborn = join(work.path, 'stubborn.pid');
    agent = newAgent(data.path);
    await agent.start();
    await agent.applyPods([
      pod({
        name: 'good',
        containers: [
          {
            name: 'c',
            image: 'host',
            command: [
              'sh',
              '-c',
              `echo $$ > ${pidGood}; trap 'echo bye > ${bye}; exit 0' TERM; while true; do sleep 0.1; done`,
            ],
          },
        ],
      }),
      pod({
        name: 'stubborn',
        containers: [
          {
            name: 'c',
            image: 'host',
            command: ['sh', '-c', `echo $$ > ${pidStubborn}; trap '' TERM; while true; do sleep 0.1; done`],
          },
        ],
        spec: { terminationGracePeriodSeconds: 1 },
      }),
    ]);
    await waitFor(() => existsSync(pidGood) && existsSync(pidStubborn), 10_000, 'both started');
    const deleted: string[] = [];
    agent.on('podDeleted', (ev) => deleted.push(ev.key));
    await agent.deletePod('default', 'good');
    expect(readFileSync(bye, 'utf8').trim()).toBe('bye');
    const t0 = Date.now();
    await agent.deletePod('default', 'stubborn');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    const stubbornPid = Number(readFileSync(pidStubborn, 'utf8'));
    await waitFor(() => !alive(stubbornPid), 5000, 'stubborn process gone');
    expect(deleted).toEqual(['default/good', 'default/stubborn']);
    expect(agent.listPods()).toHaveLength(0);
  });

  it('removing a manifest file deletes its pods; changing it recreates them', async () => {
    const marks = join(work.path, 'marks');
    const v = (tag: string) =>
      pod({
        name: 'app',
        containers: [{ name: 'c', image: 'host', command: ['sh', '-c', `echo ${tag} >> ${marks}; exec sleep 1000`] }],
        spec: { terminationGracePeriodSeconds: 1 },
      });
    writeManifest(podsDir.path, 'app.yaml', v('v1'));
    agent = newAgent(data.path, { podsDir: podsDir.path });
    await agent.start();
    await waitFor(() => existsSync(marks) && readFileSync(marks, 'utf8').includes('v1'), 10_000, 'v1 started');
    writeManifest(podsDir.path, 'app.yaml', v('v2'));
    await waitFor(() => readFileSync(marks, 'utf8').includes('v2'), 10_000, 'v2 started');
    expect(agent.listPods()).toHaveLength(1);
    rmSync(join(podsDir.path, 'app.yaml'));
    await waitFor(() => agent?.listPods().length === 0, 10_000, 'pod deleted');
  });
});

function findLogText(root: string): string {
  let text = '';
  const walk = (dir: string): void => {
    for (const e of readdirSafe(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else text += readFileSync(p, 'utf8');
    }
  };
  walk(root);
  return text;
}

import { readdirSync, type Dirent } from 'node:fs';
function readdirSafe(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}
