/**
 * Runs edgecore as a real child process (`node core/bin/edgetwin.js edge ...`, the `edgetwin` command of `@edgetwin/core`) on free loopback
 * ports with temporary directories, the way a user runs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addMqttUser } from '@edgetwin/edgecore';
import { freePort, waitFor, type BrokerTarget } from '@edgetwin/sdk/testing';

export const CLI = resolve(fileURLToPath(import.meta.url), '../../../../bin/edgetwin.js');

export interface EdgecoreProcess {
  child: ChildProcess;
  httpPort: number;
  mqttPort: number;
  /** The embedded broker with the credentials of `test-admin` (an admin identity the helper adds). */
  mqtt: { port: number; username: string; password: string } & BrokerTarget;
  http: string;
  dataDir: string;
  devicesDir: string;
  logs: string[];
  /** Log lines (pino JSON) parsed. */
  logEntries(): Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  devicesDir?: string;
  dataDir?: string;
  nodeName?: string;
  mqttUrl?: string;
  mqttPort?: number;
  httpPort?: number;
  extraArgs?: string[];
  /** Start the mapper processes too (default: --no-mappers). */
  mappers?: boolean;
  /** Extra environment of the edgecore process. */
  env?: NodeJS.ProcessEnv;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `edgetwin-${prefix}-`));
}

export async function startEdgecore(opts: StartOptions = {}): Promise<EdgecoreProcess> {
  const httpPort = opts.httpPort ?? (await freePort());
  const mqttPort = opts.mqttPort ?? (await freePort());
  const devicesDir = opts.devicesDir ?? tempDir('devices');
  const dataDir = opts.dataDir ?? tempDir('data');
  // The edge broker refuses anonymous clients: tests talk to it as an admin identity of their own.
  const admin = {
    port: mqttPort,
    username: 'test-admin',
    password: await addMqttUser(dataDir, { name: 'test-admin', role: 'admin' }),
  };
  const args = [
    CLI,
    'edge',
    '--devices',
    devicesDir,
    '--data-dir',
    dataDir,
    '--node-name',
    opts.nodeName ?? 'edge-1',
    '--http-port',
    String(httpPort),
    ...(opts.mappers ? [] : ['--no-mappers']),
    ...(opts.mqttUrl ? ['--mqtt-url', opts.mqttUrl] : ['--mqtt-port', String(mqttPort)]),
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
  });
  const logs: string[] = [];
  const collect = (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  );
  const http = `http://127.0.0.1:${httpPort}`;
  let dead = false;
  void exited.then(() => (dead = true));
  await waitFor(
    async () => {
      if (dead) throw new Error(`edgecore exited during start-up:\n${logs.join('\n')}`);
      const r = await fetch(`${http}/readyz`).catch(() => undefined);
      return r?.status === 200;
    },
    20_000,
    'edgecore to become ready',
  ).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`edgecore did not become ready: ${(err as Error).message}\n${logs.join('\n')}`);
  });
  return {
    child,
    httpPort,
    mqttPort,
    mqtt: admin,
    http,
    dataDir,
    devicesDir,
    logs,
    logEntries: () =>
      logs.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
