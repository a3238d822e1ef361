/**
 * edgecore with --pods: static pods run beside the twins (process runtime), their logs are
 * readable with `edgetwin logs`, and they keep running across an edgecore restart.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@edgetwin/sdk/testing';
import { CLI, startEdgecore, tempDir, type EdgecoreProcess } from './helpers/edgecore-process.js';

const running: EdgecoreProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.kill('SIGTERM')));
});

const POD = `apiVersion: v1
kind: Pod
metadata: { name: ticker, namespace: default }
spec:
  runtimeClassName: process
  restartPolicy: Always
  containers:
    - name: main
      image: busybox
      command: [sh, -c, 'echo started $$ && while true; do sleep 1; done']
`;

function logs(dataDir: string): string {
  return execFileSync(process.execPath, [CLI, 'logs', 'ticker', '--data-dir', dataDir], {
    encoding: 'utf8',
    timeout: 10_000,
  });
}

describe('edgecore with --pods', () => {
  it('runs a static pod, shows its log, and keeps it running across an edgecore restart', async () => {
    const podsDir = tempDir('pods');
    writeFileSync(join(podsDir, 'ticker.yaml'), POD);
    const edge = await startEdgecore({ extraArgs: ['--pods', podsDir, '--runtime', 'process'] });
    running.push(edge);
    const first = await waitFor(() => /started (\d+)/.exec(logs(edge.dataDir))?.[1], 20_000, 'the pod to log');
    const pid = Number(first);
    expect(() => process.kill(pid, 0)).not.toThrow();

    expect((await edge.kill('SIGTERM')).code).toBe(0);
    running.pop();
    // Offline autonomy: the pod outlives edgecore ...
    expect(() => process.kill(pid, 0)).not.toThrow();
    // ... and the next edgecore adopts it instead of starting a second copy.
    const again = await startEdgecore({
      dataDir: edge.dataDir,
      extraArgs: ['--pods', podsDir, '--runtime', 'process'],
    });
    running.push(again);
    await new Promise((r) => setTimeout(r, 2000));
    const starts = logs(again.dataDir).match(/started \d+/g) ?? [];
    expect(starts).toEqual([`started ${pid}`]);
    // Removing the manifest deletes the pod.
    const { rmSync } = await import('node:fs');
    rmSync(join(podsDir, 'ticker.yaml'));
    await waitFor(
      () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      20_000,
      'the pod process to stop',
    );
  });
});
