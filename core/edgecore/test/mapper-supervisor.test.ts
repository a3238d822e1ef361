import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MAPPER_NODE_FLAGS, MapperSupervisor, findMapperCommand, mapperNodeFlags } from '@edgetwin/edgecore';
import { waitFor } from '@edgetwin/sdk/testing';
import { tempDir } from './helpers/edgecore-process.js';

const logger = pino({ level: 'silent' });
let supervisor: MapperSupervisor | undefined;
afterEach(async () => {
  await supervisor?.stop();
  supervisor = undefined;
});

/** A real mapper-like process: records its arguments and pid, then runs or crashes as told. */
function scriptedMapper(dir: string, behaviour: 'crash' | 'run') {
  const script = join(dir, `mapper-${behaviour}.cjs`);
  writeFileSync(
    script,
    `require('fs').appendFileSync(${JSON.stringify(join(dir, 'starts.log'))}, JSON.stringify({ pid: process.pid, args: process.argv.slice(2), execArgv: process.execArgv, heapLimit: require('v8').getHeapStatistics().heap_size_limit, at: Date.now() }) + '\\n');
     ${behaviour === 'crash' ? 'setTimeout(() => process.exit(3), 50);' : "setInterval(() => {}, 1000); process.on('SIGTERM', () => process.exit(0));"}`,
  );
  return { command: process.execPath, args: [script] };
}

/**
 * The starts recorded so far. The file is created before its first line is written, so only
 * complete (newline-terminated) lines count: a read between the two sees no start, not half a one.
 */
const starts = (dir: string) => {
  const file = join(dir, 'starts.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as { pid: number; args: string[]; execArgv: string[]; heapLimit: number; at: number });
};

/** A supervisor for one scripted mapper of protocol "modbus", logging its starts in `dir`. */
function supervise(dir: string, behaviour: 'crash' | 'run', nodeName = 'n', nodeFlags?: string[]): MapperSupervisor {
  supervisor = new MapperSupervisor({
    dmiSocket: '/nonexistent/dmi.sock',
    logger,
    mqttUrl: 'mqtt://127.0.0.1:1',
    nodeName,
    dataDir: dir,
    commands: { modbus: { ...scriptedMapper(dir, behaviour), ...(nodeFlags ? { nodeFlags } : {}) } },
    stdio: 'ignore',
  });
  return supervisor;
}

const running = (dir: string) =>
  waitFor(() => supervisor!.status()[0]?.state === 'running' && starts(dir).length > 0, 5000, 'the mapper to run');

describe('the mapper supervisor', () => {
  it('finds the installed mapper package of a protocol, and none for an unknown protocol', () => {
    expect(findMapperCommand('modbus')?.args[0]).toMatch(/mappers\/modbus\/bin\/edgetwin-mapper-modbus\.js$/);
    expect(findMapperCommand('carrier-pigeon')).toBeUndefined();
  });

  it('starts one process per protocol with edgecore’s DMI socket, its own socket, the broker, node and data dir, and stops it on shutdown', async () => {
    const dir = tempDir('supervisor');
    supervisor = supervise(dir, 'run', 'edge-9');
    supervisor.setProtocols(['modbus']);
    supervisor.setProtocols(['modbus']); // idempotent: still one process
    await running(dir);
    const [first] = starts(dir);
    expect(first!.args).toEqual([
      '--dmi-socket',
      '/nonexistent/dmi.sock',
      '--mapper-socket',
      join(dir, 'mappers', 'modbus', 'dmi-mapper.sock'),
      '--mqtt-url',
      'mqtt://127.0.0.1:1',
      '--node-name',
      'edge-9',
      '--data-dir',
      join(dir, 'mappers', 'modbus'),
    ]);
    await supervisor.stop();
    expect(() => process.kill(first!.pid, 0)).toThrow();
  });

  it('starts an installed mapper with the memory-saving node flags, which EDGETWIN_MAPPER_NODE_FLAGS replaces', () => {
    expect(findMapperCommand('opcua')?.nodeFlags).toEqual(MAPPER_NODE_FLAGS);
    expect(MAPPER_NODE_FLAGS).toContain('--max-semi-space-size=1');
    expect(mapperNodeFlags({ EDGETWIN_MAPPER_NODE_FLAGS: ' --max-old-space-size=300  --stack-size=900 ' })).toEqual([
      '--max-old-space-size=300',
      '--stack-size=900',
    ]);
    expect(mapperNodeFlags({ EDGETWIN_MAPPER_NODE_FLAGS: '' })).toEqual([]);
  });

  it('gives node flags to the mapper runtime, not to the mapper as arguments, and keeps them on restart', async () => {
    const dir = tempDir('supervisor');
    supervisor = supervise(dir, 'crash', 'n', ['--max-old-space-size=48', '--max-semi-space-size=1']);
    supervisor.setProtocols(['modbus']);
    await waitFor(() => starts(dir).length >= 2, 10_000, 'a restart');
    for (const start of starts(dir)) {
      expect(start.execArgv).toEqual(['--max-old-space-size=48', '--max-semi-space-size=1']);
      expect(start.args[0]).toBe('--dmi-socket');
      // The old generation's limit took effect: well under node's default of 2 GB and more.
      expect(start.heapLimit).toBeLessThan(64 * 1024 * 1024);
    }
  });

  it('restarts a crashed mapper with growing backoff, and says why it ended', async () => {
    const dir = tempDir('supervisor');
    supervisor = supervise(dir, 'crash');
    supervisor.setProtocols(['modbus']);
    await waitFor(() => (supervisor!.status()[0]?.restarts ?? 0) >= 3, 15_000, 'three restarts');
    expect(supervisor.status()[0]!.lastError).toMatch(/^exited with code 3 at \d{4}-/);
    const at = starts(dir).map((s) => s.at);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // 1 s, 2 s, ... with 20 % jitter: each gap is clearly longer than the one before.
    expect(gaps[0]).toBeGreaterThan(700);
    expect(gaps[1]!).toBeGreaterThan(gaps[0]! * 1.2);
  });

  it('a crashing mapper takes down only its own protocol: the others keep their process', async () => {
    const crashing = tempDir('supervisor');
    const steady = tempDir('supervisor');
    supervisor = new MapperSupervisor({
      dmiSocket: '/nonexistent/dmi.sock',
      logger,
      mqttUrl: 'mqtt://127.0.0.1:1',
      nodeName: 'n',
      dataDir: crashing,
      commands: { modbus: scriptedMapper(crashing, 'crash'), opcua: scriptedMapper(steady, 'run') },
      stdio: 'ignore',
    });
    supervisor.setProtocols(['modbus', 'opcua']);
    await waitFor(() => starts(crashing).length >= 3 && starts(steady).length > 0, 15_000, 'two restarts of modbus');
    const opcua = supervisor.status().find((s) => s.protocol === 'opcua');
    expect(opcua).toMatchObject({ state: 'running', restarts: 0, pid: starts(steady)[0]!.pid });
    expect(starts(steady)).toHaveLength(1);
    expect(supervisor.status().find((s) => s.protocol === 'modbus')!.restarts).toBeGreaterThanOrEqual(2);
  });

  it('stops the mapper of a protocol no device uses any more', async () => {
    const dir = tempDir('supervisor');
    supervisor = supervise(dir, 'run');
    supervisor.setProtocols(['modbus']);
    await running(dir);
    const pid = starts(dir)[0]!.pid;
    supervisor.setProtocols([]);
    await waitFor(
      () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      10_000,
      'the mapper process to exit',
    );
    expect(supervisor.status()).toEqual([]);
  });
});
