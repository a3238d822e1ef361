/**
 * The `process` runtime: a container's command runs as a supervised host process, for nodes
 * without containerd. Each process is started detached in its own process group, with stdout and
 * stderr appended to its log file, under a tiny `sh` wrapper that records the exit code in a file.
 * Everything the runtime knows is on disk (`<root>/containers/<id>/`), so an agent restarted while
 * pods run finds them by pid (checked against the process start time, so a reused pid is not
 * mistaken for the container) and adopts them.
 *
 * No namespaces: the process shares the host's network, filesystem and users. Volume mounts are
 * only accepted when mountPath is the volume's host directory; resource limits are not enforced.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeTwinError } from '@edgetwin/sdk';
import type { ContainerInfo, ContainerRuntime, ContainerSpec, ExecResult, SandboxSpec } from './types.js';
import { processAlive, processGroup, processStartTime } from './proc.js';

/**
 * `$0` is the exit file. The command runs as a background child of this sh (its pid goes to
 * `$0.pid`) so the sh can record its exit code. Nothing is trapped: a SIGTERM to the process group
 * reaches the command whatever moment it lands. (Like any background job of a non-interactive
 * shell, the command starts with SIGINT and SIGQUIT ignored.)
 */
const WRAPPER = '"$@" & echo $! > "$0.pid"; wait $!; code=$?; echo $code > "$0.tmp" && mv "$0.tmp" "$0"';

interface ProcState {
  pid: number;
  /** /proc start time of the wrapper, to tell our process from a reused pid. */
  procStart: string;
  startedAt: number;
}

interface StoredContainer {
  sandboxId: string;
  spec: ContainerSpec;
  env: Record<string, string>;
}

export interface ProcessRuntimeOptions {
  /** Directory for the runtime's records (one folder per sandbox and container). */
  root: string;
}

export class ProcessRuntime implements ContainerRuntime {
  readonly name = 'process' as const;
  readonly logFormat = 'raw' as const;
  private readonly root: string;
  /** Exit statuses seen directly (we are the parent), for processes killed before writing a file. */
  private readonly exits = new Map<string, { code: number; at: number }>();

  constructor(opts: ProcessRuntimeOptions) {
    this.root = opts.root;
  }

  start(): Promise<void> {
    mkdirSync(join(this.root, 'containers'), { recursive: true });
    mkdirSync(join(this.root, 'sandboxes'), { recursive: true });
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  private dir(id: string): string {
    if (!/^[a-z0-9-]+$/.test(id)) throw new EdgeTwinError('ET_NOT_FOUND', `no process container "${id}"`);
    return join(this.root, 'containers', id);
  }

  runSandbox(spec: SandboxSpec): Promise<string> {
    const id = `s-${randomUUID()}`;
    mkdirSync(join(this.root, 'sandboxes', id), { recursive: true });
    mkdirSync(spec.logDir, { recursive: true });
    writeFileSync(join(this.root, 'sandboxes', id, 'sandbox.json'), JSON.stringify(spec));
    return Promise.resolve(id);
  }

  sandboxAlive(id: string): Promise<boolean> {
    return Promise.resolve(/^s-[a-z0-9-]+$/.test(id) && existsSync(join(this.root, 'sandboxes', id)));
  }

  removeSandbox(id: string): Promise<void> {
    if (/^s-[a-z0-9-]+$/.test(id)) rmSync(join(this.root, 'sandboxes', id), { recursive: true, force: true });
    return Promise.resolve();
  }

  createContainer(sandboxId: string, _sandbox: SandboxSpec, spec: ContainerSpec): Promise<string> {
    const argv = [...(spec.command ?? []), ...(spec.args ?? [])];
    if (!spec.command || argv.length === 0) {
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `container "${spec.name}" has no command: the process runtime runs commands on the host and has no image entrypoint; set command`,
      );
    }
    for (const m of spec.mounts) {
      if (m.hostPath !== m.containerPath) {
        throw new EdgeTwinError(
          'ET_CONFIG_INVALID',
          `container "${spec.name}": the process runtime cannot mount ${m.hostPath} at ${m.containerPath} (no mount namespace); use runtimeClassName: containerd, or a hostPath volume whose path equals mountPath`,
        );
      }
    }
    const id = `p-${randomUUID()}`;
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
    for (const e of spec.env) env[e.name] = e.value;
    const dir = this.dir(id);
    mkdirSync(dir, { recursive: true });
    const stored: StoredContainer = { sandboxId, spec, env };
    writeFileSync(join(dir, 'container.json'), JSON.stringify(stored));
    return Promise.resolve(id);
  }

  private load(id: string): StoredContainer {
    const file = join(this.dir(id), 'container.json');
    if (!existsSync(file)) throw new EdgeTwinError('ET_NOT_FOUND', `process container ${id} does not exist`);
    return JSON.parse(readFileSync(file, 'utf8')) as StoredContainer;
  }

  private procState(id: string): ProcState | undefined {
    const file = join(this.dir(id), 'state.json');
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ProcState) : undefined;
  }

  startContainer(id: string): Promise<void> {
    const c = this.load(id);
    const argv = [...(c.spec.command ?? []), ...(c.spec.args ?? [])];
    const out = openSync(c.spec.logPath, 'a');
    try {
      const child = spawn('/bin/sh', ['-c', WRAPPER, join(this.dir(id), 'exit'), ...argv], {
        detached: true,
        stdio: ['ignore', out, out],
        env: c.env,
        ...(c.spec.workingDir ? { cwd: c.spec.workingDir } : {}),
      });
      const pid = child.pid;
      if (pid === undefined) {
        throw new EdgeTwinError('ET_INTERNAL', `could not start "${argv.join(' ')}" for container ${c.spec.name}`);
      }
      child.on('error', () => undefined);
      child.once('exit', (code, signal) => {
        this.exits.set(id, { code: code ?? 128 + signalNumber(signal), at: Date.now() });
      });
      child.unref();
      const state: ProcState = { pid, procStart: processStartTime(pid) ?? '', startedAt: Date.now() };
      writeFileSync(join(this.dir(id), 'state.json'), JSON.stringify(state));
    } finally {
      closeSync(out);
    }
    return Promise.resolve();
  }

  /** The wrapper or the command (found by its pid file and process group) is still alive. */
  private running(id: string, st: ProcState): boolean {
    if (processAlive(st.pid) && (st.procStart === '' || processStartTime(st.pid) === st.procStart)) return true;
    const pidFile = join(this.dir(id), 'exit.pid');
    if (!existsSync(pidFile)) return false;
    const child = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
    return Number.isInteger(child) && processGroup(child) === st.pid;
  }

  containerInfo(id: string): Promise<ContainerInfo> {
    if (!existsSync(join(this.dir(id), 'container.json'))) return Promise.resolve({ state: 'missing' });
    const st = this.procState(id);
    if (!st) return Promise.resolve({ state: 'created' });
    if (this.running(id, st)) return Promise.resolve({ state: 'running', startedAt: st.startedAt });
    const exitFile = join(this.dir(id), 'exit');
    if (existsSync(exitFile)) {
      const code = Number.parseInt(readFileSync(exitFile, 'utf8').trim(), 10);
      const at = statSync(exitFile).mtimeMs;
      return Promise.resolve(exited(st.startedAt, Number.isFinite(code) ? code : 255, at));
    }
    const seen = this.exits.get(id);
    if (seen) return Promise.resolve(exited(st.startedAt, seen.code, seen.at));
    // Killed while nobody watched (SIGKILL, host reboot): no status recorded.
    return Promise.resolve({ ...exited(st.startedAt, 137, Date.now()), reason: 'Unknown' });
  }

  async stopContainer(id: string, graceMs: number): Promise<void> {
    const st = this.procState(id);
    if (!st || !this.running(id, st)) return;
    signalGroup(st.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (this.running(id, st) && Date.now() < deadline) await delay(50);
    if (this.running(id, st)) {
      signalGroup(st.pid, 'SIGKILL');
      const hard = Date.now() + 5000;
      while (this.running(id, st) && Date.now() < hard) await delay(20);
    }
  }

  removeContainer(id: string): Promise<void> {
    const st = this.procState(id);
    if (st && this.running(id, st)) signalGroup(st.pid, 'SIGKILL');
    rmSync(this.dir(id), { recursive: true, force: true });
    this.exits.delete(id);
    return Promise.resolve();
  }

  exec(id: string, command: string[], timeoutMs: number): Promise<ExecResult> {
    const c = this.load(id);
    const [file, ...args] = command;
    if (!file) return Promise.reject(new EdgeTwinError('ET_CONFIG_INVALID', 'exec needs a command'));
    return new Promise((resolve, reject) => {
      execFile(
        file,
        args,
        {
          env: c.env,
          timeout: timeoutMs,
          killSignal: 'SIGKILL',
          ...(c.spec.workingDir ? { cwd: c.spec.workingDir } : {}),
        },
        (err, stdout, stderr) => {
          const output = `${stdout}${stderr}`;
          if (!err) return resolve({ exitCode: 0, output });
          const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
          if (e.killed)
            return reject(new EdgeTwinError('ET_TIMEOUT', `exec "${command.join(' ')}" took over ${timeoutMs} ms`));
          if (typeof e.code === 'number') return resolve({ exitCode: e.code, output });
          resolve({ exitCode: 127, output: `${output}${err.message}` });
        },
      );
    });
  }
}

function exited(startedAt: number, code: number, at: number): ContainerInfo {
  return {
    state: 'exited',
    exitCode: code,
    startedAt,
    finishedAt: Math.round(at),
    reason: code === 0 ? 'Completed' : 'Error',
  };
}

/**
 * Signals a container's process group (the wrapper was started detached, so its pid is the group's
 * id). Only the group: once the group is gone the pid may be another process's, so there is no
 * fallback to the pid alone. kill(-0) and kill(-1) mean "our own group" and "every process we may
 * signal": a damaged state.json must never turn into either.
 */
function signalGroup(pid: number, sig: NodeJS.Signals): void {
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(-pid, sig);
  } catch {
    /* the group is gone */
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const table: Partial<Record<NodeJS.Signals, number>> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1 };
  return (signal && table[signal]) ?? 9;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
