/**
 * Starting independent peers (Debian's Mosquitto and friends) for tests. When a peer's program is
 * not installed, `requirePeer` says so: tests skip with the reason, except under CI (CI=true),
 * where a missing peer is a failure because `.ci/run` installs them all.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';
import { connect } from 'node:net';

export function hasProgram(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Returns undefined when the programs are there, or a reason to skip. Throws under CI instead, so
 * a CI run never goes green by skipping.
 */
export function missingPeer(...programs: string[]): string | undefined {
  const missing = programs.filter((p) => !hasProgram(p));
  if (missing.length === 0) return undefined;
  const reason = `needs ${missing.join(', ')} (Debian packages; .ci/run installs them)`;
  if (process.env.CI === 'true') throw new Error(`test peer missing in CI: ${reason}`);
  console.warn(`skipping: ${reason}`);
  return reason;
}

/**
 * Like missingPeer, for a Python module: undefined when `python -c "import MODULE"` works, else
 * a reason naming the Debian packages (`packages`). pymodbus, for one, imports pyserial, which
 * Debian's python3-pymodbus only recommends: python3 alone is not enough.
 */
export function missingPythonModule(python: string, module: string, packages: string): string | undefined {
  const missingProgram = missingPeer(python);
  if (missingProgram) return missingProgram;
  const r = spawnSync(python, ['-c', `import ${module}`], { encoding: 'utf8' });
  if (r.status === 0) return undefined;
  const reason = `needs ${packages} (${python} cannot import ${module}: ${r.stderr.trim().split('\n').at(-1) ?? ''})`;
  if (process.env.CI === 'true') throw new Error(`test peer missing in CI: ${reason}`);
  console.warn(`skipping: ${reason}`);
  return reason;
}

export async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
    timeoutMs,
    `port ${port} to accept connections`,
  );
}

export interface RunningPeer {
  port: number;
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Stops a child process: SIGTERM, then SIGKILL after `graceMs`. */
export function stopProcess(child: ChildProcess, graceMs = 3000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts Debian's Mosquitto on a free loopback port (no persistence); anonymous access unless
 * `config` (extra mosquitto.conf lines, e.g. password_file and acl_file) says otherwise.
 */
export async function startMosquitto(opts: { port?: number; config?: string } = {}): Promise<RunningPeer> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'edgetwin-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\n${opts.config ?? 'allow_anonymous true\n'}persistence false\nmax_queued_messages 100000\n`,
  );
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitForPort(port);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`mosquitto did not start on port ${port}: ${stderr}`, { cause: err });
  }
  return { port, url: `mqtt://127.0.0.1:${port}`, process: child, stop: () => stopProcess(child) };
}
