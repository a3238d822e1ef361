import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@edgetwin/sdk/testing';
import { openTwin, removeDir, type TwinFixture } from './fixtures.js';

const writer = fileURLToPath(new URL('./kill9-writer.mjs', import.meta.url));
const dirs: string[] = [];
let reopened: TwinFixture | undefined;
afterEach(async () => {
  await reopened?.close();
  reopened = undefined;
  dirs.splice(0).forEach(removeDir);
});

describe('durability', () => {
  it('kill -9 never loses an acknowledged report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgetwin-kill9-'));
    dirs.push(dir);
    const file = join(dir, 'twin.db');
    const child = spawn(process.execPath, [writer, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await waitFor(() => /acked 200\n/.test(out), 30_000, 'the writer to acknowledge 200 rounds');
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const acked = Math.max(...[...out.matchAll(/acked (\d+)\n/g)].map((m) => Number(m[1])));
    reopened = await openTwin(file);
    for (const id of ['default/c0', 'default/c1', 'default/c2', 'default/c3']) {
      const snap = reopened.twin.getTwin(id)!;
      expect(snap.reported.n!.value as number).toBeGreaterThanOrEqual(acked);
      expect(snap.reportedVersion).toBe(snap.reported.n!.value);
    }
  });
});
