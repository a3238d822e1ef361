/**
 * The guards tests use around pids: a pid read as 0 once made a test call process.kill(0, 'SIGKILL'),
 * which ended CI's whole process group (vitest, npm, .ci/run) with exit 137 and no report.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pidsInFile, signalPid, waitFor } from '@edgetwin/sdk/testing';

describe('signalPid and pidsInFile', () => {
  it('signalPid refuses process groups, init, itself and non-numbers, and signals a real child', async () => {
    for (const bad of [0, -1, -12345, 1, process.pid, Number.NaN, 2.5, undefined, '123'])
      expect(() => signalPid(bad, 'SIGKILL'), String(bad)).toThrow(/refusing to signal pid/);
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, s) => r(s)));
    await waitFor(() => child.pid !== undefined, 5000, 'sleep to start');
    signalPid(child.pid, 'SIGKILL');
    expect(await exited).toBe('SIGKILL');
  });

  it('pidsInFile counts only complete lines: a file created but not yet written gives none', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'edgetwin-pids-')), 'starts');
    expect(pidsInFile(file)).toEqual([]);
    writeFileSync(file, ''); // what `echo $$ >> FILE` leaves between opening and writing
    expect(pidsInFile(file)).toEqual([]);
    writeFileSync(file, '4242\n43');
    expect(pidsInFile(file)).toEqual([4242]);
    writeFileSync(file, '4242\n4343\n\n0\n1\nnot a pid\n');
    expect(pidsInFile(file)).toEqual([4242, 4343]);
  });
});
