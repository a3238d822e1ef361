import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmiSide, waitFor } from '@edgetwin/sdk/testing';

const BIN = fileURLToPath(new URL('./fixtures/clitest-mapper.mjs', import.meta.url));

function runBin(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

describe('a mapper bin built on mapperCli', () => {
  let edge: DmiSide;
  beforeAll(async () => {
    edge = await DmiSide.start({ nodeName: 'cli-node' });
  });
  afterAll(async () => {
    await edge?.stop();
  });

  it('registers over DMI with the flags it is given and exits 0 soon after SIGTERM', async () => {
    const bin = runBin(['--dmi-socket', edge.socketPath, '--node-name', 'cli-node', '--log-level', 'info']);
    try {
      await waitFor(() => bin.output().includes('registered with edgecore over DMI'), 30_000, 'the mapper to register');
      expect(edge.registrations).toBe(1);
      expect(bin.output()).toContain('mapper clitest started for node cli-node');
      bin.child.kill('SIGTERM');
      expect(await bin.exited).toBe(0);
      expect(bin.output()).toContain('mapper clitest stopped');
    } finally {
      bin.child.kill('SIGKILL');
    }
  }, 60_000);

  it('a wrong flag prints the problem and the usage and exits 2', async () => {
    const bin = runBin(['--node', 'x']);
    expect(await bin.exited).toBe(2);
    expect(bin.output()).toMatch(/Unknown option '--node'/);
    expect(bin.output()).toContain('Usage: edgetwin-mapper-clitest [options]');
  }, 60_000);
});
