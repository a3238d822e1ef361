import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MapperSupervisor, findMapperCommand } from '@edgetwin/core';
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
    `require('fs').appendFileSync(${JSON.stringify(join(dir, 'starts.log'))}, JSON.stringify({ pid: process.pid, args: process.argv.slice(2), at: Date.now() }) + '\\n');
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
    .map((l) => JSON.parse(l) as { pid: number; args: string[]; at: number });
};

/** A supervisor for one scripted mapper of protocol "modbus", logging its starts in `dir`. */
function supervise(dir: string, behaviour: 'crash' | 'run', nodeName = 'n'): MapperSupervisor {
  supervisor = new MapperSupervisor({
    logger,
    mqttUrl: 'mqtt://127.0.0.1:1',
    nodeName,
    dataDir: dir,
    commands: { modbus: scriptedMapper(dir, behaviour) },
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

  it('starts one process per protocol with the broker, node and data dir, and stops it on shutdown', async () => {
    const dir = tempDir('supervisor');
    supervisor = supervise(dir, 'run', 'edge-9');
    supervisor.setProtocols(['modbus']);
    supervisor.setProtocols(['modbus']); // idempotent: still one process
    await running(dir);
    const [first] = starts(dir);
    expect(first!.args).toEqual([
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
