import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmiSide, waitFor } from '@edgetwin/sdk/testing';
import { memorySpec } from './helpers/memory-mapper.js';

const BIN = fileURLToPath(new URL('./fixtures/clitest-mapper.mjs', import.meta.url));
const REPORT_MODULES = fileURLToPath(new URL('./fixtures/report-loaded-modules.mjs', import.meta.url));

function runBin(
  args: string[],
  nodeArgs: string[] = [],
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], {
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

  it('never loads @grpc/grpc-js, @grpc/proto-loader or protobufjs: it speaks DMI with the sdk transport', async () => {
    const before = edge.registrations;
    const bin = runBin(['--dmi-socket', edge.socketPath, '--node-name', 'cli-node'], ['--import', REPORT_MODULES]);
    try {
      await waitFor(() => edge.registrations > before, 30_000, 'the mapper to register');
      // Both directions: edgecore calls the mapper (RegisterDevice), the mapper reports a state.
      const spec = memorySpec('nogrpc', 'x', 'cli-node', [{ name: 'temp' }]);
      spec.model.spec.protocol = 'clitest';
      spec.device.spec.protocol = { protocolName: 'clitest', configData: {} };
      for (const p of spec.device.spec.properties ?? []) p.visitors = { protocolName: 'clitest', configData: {} };
      await edge.publishSpec(spec.device, spec.model);
      await waitFor(
        () => edge.states({ namespace: 'default', name: 'nogrpc' }).length > 0,
        30_000,
        'a state report from the mapper',
      );
      bin.child.kill('SIGTERM');
      expect(await bin.exited).toBe(0);
      expect(bin.output()).toContain('LOADED_GRPC_MODULES []');
    } finally {
      bin.child.kill('SIGKILL');
    }
  }, 60_000);

  it('the module report does see grpc-js when it is loaded (the check above can fail)', async () => {
    const child = spawn(
      process.execPath,
      ['--import', REPORT_MODULES, '--input-type=module', '-e', "(await import('@edgetwin/sdk/dmi')).loadDmi();"],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: fileURLToPath(new URL('.', import.meta.url)) },
    );
    let out = '';
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(out).toMatch(/LOADED_GRPC_MODULES \[.*@grpc[\\/]grpc-js.*\]/);
  }, 60_000);

  it('a wrong flag prints the problem and the usage and exits 2', async () => {
    const bin = runBin(['--node', 'x']);
    expect(await bin.exited).toBe(2);
    expect(bin.output()).toMatch(/Unknown option '--node'/);
    expect(bin.output()).toContain('Usage: edgetwin-mapper-clitest [options]');
  }, 60_000);
});
