/**
 * `edgetwin images import` answers with what is wrong when it cannot import.
 * `edgetwin logs`: prints a pod's container log from the agent's state, follows it across
 * container restarts with -f, shows the crashed container's log with -p, and says what is wrong
 * when the pod or container does not exist.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { missingPeer, waitFor } from '@edgetwin/sdk/testing';
import { imagesCommand, logsCommand, type PodAgent } from '@edgetwin/agent';
import { newAgent, pod, tempDir } from './helpers.js';

function capture(): {
  out: () => string;
  io: { stdout: { write(c: string | Buffer): boolean }; stderr: { write(c: string | Buffer): boolean } };
} {
  let text = '';
  const sink = { write: (c: string | Buffer) => ((text += c.toString()), true) };
  return { out: () => text, io: { stdout: sink, stderr: sink } };
}

describe('edgetwin logs', () => {
  let data: ReturnType<typeof tempDir>;
  let agent: PodAgent;

  beforeEach(async () => {
    data = tempDir('agent-logs');
    agent = newAgent(data.path);
    await agent.start();
  });

  afterEach(async () => {
    await agent.stop({ deletePods: true });
    data.remove();
  });

  it('follows a container log across restarts and shows the previous log with -p', async () => {
    // Each run prints three lines and exits; the agent restarts it (first restart immediately).
    await agent.applyPods([
      pod({
        name: 'ticker',
        namespace: 'apps',
        containers: [
          {
            name: 'tick',
            image: 'host',
            command: ['sh', '-c', 'for i in 1 2 3; do echo "tick $i of run $RUN"; sleep 0.2; done; exit 1'],
            env: [{ name: 'RUN', value: 'x' }],
          },
        ],
      }),
    ]);
    const c = capture();
    const ac = new AbortController();
    const following = logsCommand(['ticker', '-n', 'apps', '-f', '--data-dir', data.path], {
      ...c.io,
      signal: ac.signal,
    });
    try {
      await waitFor(
        () => (agent.podStatus('apps', 'ticker')?.containerStatuses[0]?.restartCount ?? 0) >= 1,
        15_000,
        'a restart',
      );
      await waitFor(() => c.out().split('tick 3 of run x').length >= 3, 15_000, 'two runs followed');
    } finally {
      ac.abort();
    }
    expect(await following).toBe(0);
    expect(c.out()).toMatch(/tick 1 of run x\ntick 2 of run x\ntick 3 of run x\ntick 1 of run x/);

    const prev = capture();
    expect(await logsCommand(['apps/ticker', '-p', '--data-dir', data.path], prev.io)).toBe(0);
    expect(prev.out()).toBe('tick 1 of run x\ntick 2 of run x\ntick 3 of run x\n');
  });

  it('names the problem when the pod or container is unknown', async () => {
    await agent.applyPods([
      pod({
        name: 'two',
        containers: [
          { name: 'a', image: 'host', command: ['sleep', '100'] },
          { name: 'b', image: 'host', command: ['sleep', '100'] },
        ],
      }),
    ]);
    const missing = capture();
    expect(await logsCommand(['nope', '--data-dir', data.path], missing.io)).toBe(1);
    expect(missing.out()).toContain('pod default/nope is not on this node');
    const ambiguous = capture();
    expect(await logsCommand(['two', '--data-dir', data.path], ambiguous.io)).toBe(1);
    expect(ambiguous.out()).toContain('choose one with -c: a, b');
    const usage = capture();
    expect(await logsCommand([], usage.io)).toBe(2);
    expect(usage.out()).toContain('usage: edgetwin logs POD');
  });
});

describe('edgetwin images import', () => {
  it('says what is missing: the file, or a containerd at the address', async () => {
    const dir = tempDir('images');
    try {
      const noFile = capture();
      expect(await imagesCommand(['import', join(dir.path, 'nope.tar')], noFile.io)).toBe(1);
      expect(noFile.out()).toContain('nope.tar does not exist');
      const usage = capture();
      expect(await imagesCommand(['export'], usage.io)).toBe(2);
      expect(usage.out()).toContain('unknown images command "export"');
      if (missingPeer('ctr')) return;
      const file = join(dir.path, 'image.tar');
      writeFileSync(file, 'not an archive');
      const noDaemon = capture();
      const code = await imagesCommand(
        ['import', file, '--containerd-address', join(dir.path, 'none.sock'), '--timeout', '20'],
        noDaemon.io,
      );
      expect(code).toBe(1);
      expect(noDaemon.out()).toContain('is containerd running at');
    } finally {
      dir.remove();
    }
  });
});
