/** Starting the independent peers of the Modbus tests: pymodbus slaves and socat pty pairs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, missingPeer, missingPythonModule, stopProcess, waitFor, waitForPort } from '@edgetwin/sdk/testing';

export const PYTHON = '/usr/bin/python3';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'pymodbus_slave.py');

/**
 * Why the pymodbus tests cannot run here (pymodbus, or one of `programs`, missing), or undefined;
 * under CI a missing peer throws (missingPeer). pymodbus needs pyserial, which Debian's
 * python3-pymodbus only recommends.
 */
export function missingPymodbus(...programs: string[]): string | undefined {
  return (
    missingPeer(...programs) ??
    missingPythonModule(PYTHON, 'pymodbus.server', 'python3-pymodbus python3-serial-asyncio')
  );
}

export interface SpecItem {
  table: 'hr' | 'ir' | 'co' | 'di';
  address: number;
  type?: string;
  value: number | boolean | string | number[];
  isSwap?: boolean;
  isRegisterSwap?: boolean;
  length?: number;
}
export type SlaveSpec = Record<number, SpecItem[]>;

export interface PySlave {
  process: ChildProcess;
  port: number | undefined;
  output(): string;
  stop(): Promise<void>;
}

function spawnSlave(args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(PYTHON, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  return { child, output: () => out };
}

/** A pymodbus TCP slave on a free (or the given) loopback port. */
export async function startPymodbusTcp(spec: SlaveSpec, port?: number): Promise<PySlave> {
  const p = port ?? (await freePort());
  const { child, output } = spawnSlave(['--tcp', String(p), JSON.stringify(spec)]);
  try {
    await waitForPort(p, 15_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`pymodbus did not start: ${output()}`, { cause: err });
  }
  return { process: child, port: p, output, stop: () => stopProcess(child) };
}

/** A pymodbus RTU slave on a serial device (one end of a socat pty pair). */
export function startPymodbusRtu(spec: SlaveSpec, path: string): PySlave {
  const { child, output } = spawnSlave(['--serial', path, JSON.stringify(spec)]);
  return { process: child, port: undefined, output, stop: () => stopProcess(child) };
}

export interface PtyPair {
  a: string;
  b: string;
  stop(): Promise<void>;
}

/** Two linked ptys from socat: what is written to one is read from the other, like a serial cable. */
export async function startPtyPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'edgetwin-pty-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await waitFor(() => existsSync(a) && existsSync(b), 10_000, 'socat to create the pty pair');
  return { a, b, stop: () => stopProcess(child) };
}

/** Runs a command to completion and returns its stdout (rejects on a non-zero exit). */
export function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${err || out}`));
    });
  });
}

/** The values printed by `mbpoll -1` ("[0]: 	215" lines), in order. */
export function mbpollValues(output: string): string[] {
  return [...output.matchAll(/^\[\d+\]:\s+(\S+)/gm)].map((m) => m[1] ?? '');
}
