/**
 * Pod agent benchmark (`npm run bench:agent`): starts N pods (default 50) on each runtime and
 * prints the time until all are Running, the agent's RSS, and the time to delete them all.
 * The process runtime always runs; containerd runs when its binaries are installed and we are
 * root (a private containerd is started with a locally built busybox image).
 *
 * Environment: AGENT_BENCH_PODS (default 50), AGENT_BENCH_RUNTIMES (default "process,containerd").
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { PodAgent, selfRssBytes } from '@edgetwin/agent';
import { BUSYBOX_IMAGE, startContainerd, writeBusyboxImage, type RunningContainerd } from '@edgetwin/agent/testing';

const PODS = Number(process.env.AGENT_BENCH_PODS ?? 50);
const RUNTIMES = (process.env.AGENT_BENCH_RUNTIMES ?? 'process,containerd').split(',');
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;

function has(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

function podManifest(i: number, runtime: 'process' | 'containerd'): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `bench-${i}`, namespace: 'bench' },
    spec: {
      hostNetwork: true,
      runtimeClassName: runtime,
      terminationGracePeriodSeconds: 2,
      containers: [
        { name: 'main', image: runtime === 'containerd' ? BUSYBOX_IMAGE : 'host', command: ['sleep', '100000'] },
      ],
    },
  };
}

async function run(runtime: 'process' | 'containerd', containerdAddress?: string): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgetwin-agent-bench-'));
  const agent = new PodAgent({
    dataDir,
    nodeName: 'bench',
    logger: pino({ level: 'warn' }),
    runtime,
    ...(containerdAddress ? { containerdAddress } : {}),
  });
  const rssBefore = selfRssBytes();
  await agent.start();
  const running = new Set<string>();
  let resolveAll: () => void = () => undefined;
  const allRunning = new Promise<void>((r) => (resolveAll = r));
  agent.on('podStatus', (ev) => {
    if (ev.status.phase === 'Running' && ev.status.containerStatuses.every((c) => c.state.running)) running.add(ev.key);
    if (running.size === PODS) resolveAll();
  });
  const t0 = performance.now();
  await agent.applyPods(Array.from({ length: PODS }, (_, i) => podManifest(i, runtime)));
  await allRunning;
  const startMs = performance.now() - t0;
  const rssRunning = selfRssBytes();
  // Let a few sync rounds and probes pass, then measure the steady state.
  await new Promise((r) => setTimeout(r, 3000));
  const rssSteady = selfRssBytes();
  const t1 = performance.now();
  await agent.stop({ deletePods: true });
  const deleteMs = performance.now() - t1;
  rmSync(dataDir, { recursive: true, force: true });
  console.log(
    `${runtime.padEnd(10)} ${PODS} pods: all Running after ${startMs.toFixed(0)} ms ` +
      `(${(startMs / PODS).toFixed(1)} ms/pod); agent RSS ${mb(rssBefore)} before, ${mb(rssRunning)} when running, ` +
      `${mb(rssSteady)} steady; deleting all took ${deleteMs.toFixed(0)} ms`,
  );
}

async function main(): Promise<void> {
  console.log(`pod agent benchmark: ${PODS} pods per runtime, Node ${process.version}`);
  if (RUNTIMES.includes('process')) await run('process');
  if (RUNTIMES.includes('containerd')) {
    if (!has('containerd') || !has('runc') || !has('ctr') || process.getuid?.() !== 0) {
      console.log('containerd  skipped: needs containerd, runc and ctr (Debian packages) and root');
      return;
    }
    let ctr: RunningContainerd | undefined;
    try {
      ctr = await startContainerd();
      const image = join(ctr.dir, 'busybox.tar');
      writeBusyboxImage(image, BUSYBOX_IMAGE, ['sh']);
      const r = await ctr.importImage(image);
      if (r.code !== 0) throw new Error(`image import failed: ${r.out}`);
      await run('containerd', ctr.socket);
    } finally {
      await ctr?.stop();
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
