/**
 * Runs one mapper process per protocol that the node's devices use, restarts a crashed one with
 * backoff, and stops them all on shutdown (SIGTERM, then SIGKILL after a grace period).
 * Each process it starts gets a new DMI token (`dmiTokens`), written to a 0600 file in the mapper's
 * 0700 state directory and named in its environment (EDGETWIN_DMI_TOKEN_FILE), never on its
 * command line. With `users` (--mapper-uids), each mapper runs under its own uid and owns its state
 * directory and secret files (mapper-users.ts).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Backoff } from '@edgetwin/sdk/util';
import { writeSecretFile } from '../security/secret-files.js';
import { findMapperCommand, type MapperCommand } from './mapper-commands.js';
import { ownMapperDir, type MapperUsers } from './mapper-users.js';

export interface MapperSupervisorOptions {
  logger: Logger;
  /** edgecore's DMI socket: the mappers register there and take their devices from it. */
  dmiSocket: string;
  /** The edge broker, for drivers with topics of their own (ZigBee permit-join). */
  mqttUrl: string;
  nodeName: string;
  dataDir: string;
  /** Overrides or additions: protocol -> command. */
  commands?: Record<string, MapperCommand>;
  stdio?: StdioOptions;
  /** A process that ran this long before exiting resets the backoff (default 30 s). */
  stableAfterMs?: number;
  graceMs?: number;
  /** A mapper process exited while it was wanted (it is restarted after backoff). */
  onExit?: (protocol: string) => void;
  /**
   * Environment variables for a mapper about to start: its broker credentials
   * (EDGETWIN_MQTT_USERNAME, EDGETWIN_MQTT_PASSWORD_FILE). Secrets never go on the command line,
   * where `ps` shows them to every local user.
   */
  credentials?: (protocol: string) => Promise<Record<string, string>>;
  /** Makes the DMI token of a mapper process about to start, and forgets it when the protocol goes. */
  dmiTokens?: { issue(protocol: string): string; revoke(protocol: string): void };
  /** Run each mapper under a uid of its own (edgecore is root); its state directory becomes its own. */
  users?: MapperUsers;
}

/** How a mapper process is started: its secrets' environment, and its uid and gid with --mapper-uids. */
interface Launch {
  env: Record<string, string>;
  user?: { uid: number; gid: number };
}

/** The 0600 file holding the DMI token of the mapper of `protocol`. */
export const mapperDmiTokenFile = (dataDir: string, protocol: string): string =>
  join(dataDir, 'mappers', protocol, 'dmi-token');

/** edgecore's own secrets that a mapper must not inherit. */
const PRIVATE_ENV = ['EDGETWIN_JOIN_TOKEN', 'EDGETWIN_MQTT_PASSWORD'];

export interface MapperProcessStatus {
  protocol: string;
  pid: number | undefined;
  restarts: number;
  state: 'running' | 'backoff' | 'stopped' | 'unavailable';
  /** Why the process last ended or failed to start. */
  lastError?: string;
}

interface Entry {
  protocol: string;
  command: MapperCommand | undefined;
  child: ChildProcess | undefined;
  startedAt: number;
  restarts: number;
  backoff: Backoff;
  timer: NodeJS.Timeout | undefined;
  wanted: boolean;
  lastError: string | undefined;
}

export class MapperSupervisor {
  private readonly entries = new Map<string, Entry>();
  private readonly commands = new Map<string, MapperCommand | undefined>();
  private stopping = false;

  constructor(private readonly opts: MapperSupervisorOptions) {}

  /** The command that runs the mapper of `protocol`, or undefined when none is configured or installed. */
  commandFor(protocol: string): MapperCommand | undefined {
    if (!this.commands.has(protocol))
      this.commands.set(protocol, this.opts.commands?.[protocol] ?? findMapperCommand(protocol));
    return this.commands.get(protocol);
  }

  /**
   * The DMI socket our mapper of `protocol` serves on (passed as --mapper-socket), so edgecore can
   * tell its own mappers from mapper-framework mappers that registered for a protocol.
   */
  mapperSocket(protocol: string): string {
    const path = join(this.opts.dataDir, 'mappers', protocol, 'dmi-mapper.sock');
    if (Buffer.byteLength(path) <= 100) return path; // unix socket paths are limited to 107 bytes
    const tag = createHash('sha256').update(this.opts.dataDir).digest('hex').slice(0, 12);
    return join(tmpdir(), `edgetwin-${tag}-${protocol}.sock`);
  }

  /** Makes the set of running mappers match the protocols in use. */
  setProtocols(protocols: Iterable<string>): void {
    if (this.stopping) return;
    const wanted = new Set(protocols);
    for (const protocol of wanted) {
      if (this.entries.has(protocol)) continue;
      const command = this.commandFor(protocol);
      const entry: Entry = {
        protocol,
        command,
        child: undefined,
        startedAt: 0,
        restarts: 0,
        backoff: new Backoff({ initialMs: 1000, maxMs: 60_000 }),
        timer: undefined,
        wanted: true,
        lastError: command ? undefined : `no mapper is installed for protocol "${protocol}"`,
      };
      this.entries.set(protocol, entry);
      if (!command) {
        this.opts.logger.error(
          { protocol },
          `no mapper is installed for protocol "${protocol}"; its devices stay offline (install the mapper package or run one standalone)`,
        );
        continue;
      }
      this.launch(entry);
    }
    for (const [protocol, entry] of this.entries) {
      if (!wanted.has(protocol)) {
        this.entries.delete(protocol);
        void this.terminate(entry);
      }
    }
  }

  status(): MapperProcessStatus[] {
    return [...this.entries.values()].map((e) => ({
      protocol: e.protocol,
      pid: e.child?.pid,
      restarts: e.restarts,
      state: !e.command ? 'unavailable' : e.child ? 'running' : e.timer ? 'backoff' : 'stopped',
      ...(e.lastError !== undefined ? { lastError: e.lastError } : {}),
    }));
  }

  private launch(entry: Entry): void {
    const log = this.opts.logger.child({ module: 'supervisor', protocol: entry.protocol });
    this.prepare(entry).then(
      (launch) => this.spawnMapper(entry, launch, log),
      (err: unknown) => {
        if (this.stopping || !entry.wanted) return;
        entry.lastError = (err as Error).message;
        const delay = this.scheduleRestart(entry);
        log.error(
          { err: (err as Error).message, restartInMs: delay },
          `cannot prepare the start of the ${entry.protocol} mapper (its credentials or state directory); trying again after backoff`,
        );
      },
    );
  }

  /**
   * The mapper's MQTT credentials and a new DMI token, as files named in environment variables.
   * With `users`: its uid and gid, its state directory (and the files in it) made its own, and
   * HOME and TMPDIR pointing there (the shared ones may not be writable for it).
   */
  private async prepare(entry: Entry): Promise<Launch> {
    const { protocol } = entry;
    const users = this.opts.users;
    const uid = users?.uid(protocol); // throws for a protocol without a uid, before any secret is made
    let env = (await this.opts.credentials?.(protocol)) ?? {};
    const tokens = this.opts.dmiTokens;
    if (tokens) {
      const file = mapperDmiTokenFile(this.opts.dataDir, protocol);
      await writeSecretFile(file, `${tokens.issue(protocol)}\n`);
      env = { ...env, EDGETWIN_DMI_TOKEN_FILE: file };
    }
    if (!users || uid === undefined) return { env };
    const dir = join(this.opts.dataDir, 'mappers', protocol);
    await ownMapperDir(dir, uid, users.gid); // that its uid can run its program was checked at start (checkMapperPrograms)
    return { env: { ...env, HOME: dir, TMPDIR: dir }, user: { uid, gid: users.gid } };
  }

  private spawnMapper(entry: Entry, launch: Launch, log: Logger): void {
    const extraEnv = launch.env;
    const cmd = entry.command;
    if (!cmd || this.stopping || !entry.wanted || entry.child) return;
    const args = [
      ...(cmd.nodeFlags ?? []),
      ...cmd.args,
      '--dmi-socket',
      this.opts.dmiSocket,
      '--mapper-socket',
      this.mapperSocket(entry.protocol),
      '--mqtt-url',
      this.opts.mqttUrl,
      '--node-name',
      this.opts.nodeName,
      '--data-dir',
      join(this.opts.dataDir, 'mappers', entry.protocol),
    ];
    const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
    for (const name of PRIVATE_ENV) if (!(name in extraEnv)) delete env[name];
    const child = spawn(cmd.command, args, {
      stdio: this.opts.stdio ?? ['ignore', 'inherit', 'inherit'],
      env,
      ...launch.user, // uid and gid: node drops root's supplementary groups too (setgroups)
    });
    entry.child = child;
    entry.startedAt = Date.now();
    log.info({ pid: child.pid, ...launch.user }, `mapper for ${entry.protocol} started`);
    child.on('error', (err) => {
      entry.lastError = `failed to start ${cmd.command}: ${err.message}`;
      log.error({ err }, 'mapper process failed to start');
    });
    child.on('exit', (code, signal) => {
      if (entry.child === child) entry.child = undefined;
      if (this.stopping || !entry.wanted) return;
      entry.lastError = `exited ${signal ? `on ${signal}` : `with code ${code}`} at ${new Date().toISOString()}`;
      this.opts.onExit?.(entry.protocol);
      if (Date.now() - entry.startedAt > (this.opts.stableAfterMs ?? 30_000)) entry.backoff.reset();
      const delay = this.scheduleRestart(entry);
      log.warn(
        { code, signal, restartInMs: delay, restarts: entry.restarts },
        'mapper exited; restarting after backoff',
      );
    });
  }

  private scheduleRestart(entry: Entry): number {
    const delay = entry.backoff.next();
    entry.restarts++;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      this.launch(entry);
    }, delay);
    return delay;
  }

  private async terminate(entry: Entry): Promise<void> {
    entry.wanted = false;
    this.opts.dmiTokens?.revoke(entry.protocol);
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    const child = entry.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), this.opts.graceMs ?? 5000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
    this.opts.logger.info({ protocol: entry.protocol }, 'mapper stopped');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.entries.values()].map((e) => this.terminate(e)));
    this.entries.clear();
  }
}
