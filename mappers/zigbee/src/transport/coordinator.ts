/**
 * One zigbee-herdsman controller per coordinator. `start()` brings the network up (forming it the
 * first time, resuming it after) and keeps it up: when the coordinator connection drops, every
 * session is told (`onLost`) and the controller is rebuilt in place with backoff, no process exit.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { EdgeTwinError, errorMessage } from '@edgetwin/sdk';
import { Backoff, type Clock, type ClockTimer } from '@edgetwin/sdk/util';
import type { Logger } from 'pino';
import { Controller } from 'zigbee-herdsman';
import { bridgeHerdsmanLogs } from './herdsman-log.js';
import { loadOrCreateSecrets, secretStrings } from './network-key.js';
import type { CoordinatorConfig } from '../config.js';

type HerdsmanDevice = NonNullable<ReturnType<Controller['getDeviceByIeeeAddr']>>;
export type { HerdsmanDevice };

/** What herdsman's `message` event carries that the mapper uses. */
export interface ZclMessage {
  type: string;
  device: HerdsmanDevice;
  endpoint: { ID: number };
  cluster: string | number;
  data: unknown;
}

export interface CoordinatorEvents {
  /** An attribute report or read response from a device. */
  message(msg: ZclMessage): void;
  /** The coordinator went away; sessions must report their devices lost. */
  lost(err: Error): void;
  /** The network is up (first start or after a reconnect). */
  up(): void;
  /** A device joined or finished its interview. */
  joined(device: HerdsmanDevice, interview: 'started' | 'successful' | 'failed' | 'joined'): void;
}

export interface CoordinatorOptions {
  config: CoordinatorConfig;
  dataDir: string;
  logger: Logger;
  clock: Clock;
  backoff?: { initialMs?: number; maxMs?: number };
}

/** A directory name for a coordinator path. */
export function coordinatorDirName(path: string): string {
  return `coordinator-${createHash('sha256').update(path).digest('hex').slice(0, 12)}`;
}

export class Coordinator {
  private controller: Controller | undefined;
  private up = false;
  private stopped = true;
  private timer: ClockTimer | undefined;
  private readonly backoff: Backoff;
  private readonly listeners = new Set<Partial<CoordinatorEvents>>();
  private readonly waiters = new Set<() => void>();
  private starting: Promise<void> | undefined;
  readonly dir: string;
  private readonly log: Logger;

  constructor(private readonly opts: CoordinatorOptions) {
    this.dir = join(opts.dataDir, coordinatorDirName(opts.config.path));
    this.log = opts.logger.child({ coordinator: opts.config.path });
    this.backoff = new Backoff({ initialMs: opts.backoff?.initialMs ?? 1000, maxMs: opts.backoff?.maxMs ?? 30_000 });
  }

  get path(): string {
    return this.opts.config.path;
  }

  get config(): CoordinatorConfig {
    return this.opts.config;
  }

  get isUp(): boolean {
    return this.up;
  }

  on(listener: Partial<CoordinatorEvents>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts bringing the network up in the background. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt();
  }

  /** Resolves with the controller once the network is up; ET_UNAVAILABLE after `timeoutMs` or on abort. */
  async ready(signal: AbortSignal, timeoutMs: number): Promise<Controller> {
    if (this.up && this.controller) return this.controller;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        this.waiters.delete(onUp);
        this.opts.clock.clearTimeout(t);
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onUp = () => done();
      const onAbort = () =>
        done(signal.reason instanceof Error ? signal.reason : new EdgeTwinError('ET_ABORTED', 'aborted'));
      const t = this.opts.clock.setTimeout(
        () =>
          done(
            new EdgeTwinError(
              'ET_UNAVAILABLE',
              `ZigBee coordinator ${this.path} is not up yet; check that it is plugged in (or that the TCP bridge runs) and look for coordinator errors in the log`,
              // The coordinator, not the device, is down: the device is reported unhealthy.
              { details: { coordinator: this.path, deviceState: 'unhealthy' } },
            ),
          ),
        timeoutMs,
      );
      this.waiters.add(onUp);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    if (!this.controller)
      throw new EdgeTwinError('ET_UNAVAILABLE', `ZigBee coordinator ${this.path} went away again`, {
        details: { coordinator: this.path, deviceState: 'unhealthy' },
      });
    return this.controller;
  }

  get current(): Controller | undefined {
    return this.up ? this.controller : undefined;
  }

  async permitJoin(seconds: number): Promise<void> {
    const c = this.current;
    if (!c)
      throw new EdgeTwinError('ET_UNAVAILABLE', `ZigBee coordinator ${this.path} is not up; try again when it is`);
    await c.permitJoin(seconds);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.starting?.catch(() => undefined);
    await this.teardown();
    this.listeners.clear();
  }

  private emit<K extends keyof CoordinatorEvents>(event: K, ...args: Parameters<CoordinatorEvents[K]>): void {
    for (const l of this.listeners) {
      const fn = l[event] as ((...a: Parameters<CoordinatorEvents[K]>) => void) | undefined;
      try {
        fn?.(...args);
      } catch (err) {
        this.log.error({ err: errorMessage(err) }, `a ${event} listener failed: ${errorMessage(err)}`);
      }
    }
  }

  private attempt(): void {
    this.timer = undefined;
    if (this.stopped) return;
    this.starting = this.startController().finally(() => (this.starting = undefined));
    void this.starting.catch(() => undefined);
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    const delay = this.backoff.next();
    this.log.info(`reconnecting to ZigBee coordinator ${this.path} in ${delay} ms`);
    this.timer = this.opts.clock.setTimeout(() => this.attempt(), delay);
  }

  private async startController(): Promise<void> {
    const cfg = this.opts.config;
    const started = Date.now();
    let controller: Controller;
    try {
      const secrets = loadOrCreateSecrets(this.dir);
      bridgeHerdsmanLogs(this.opts.logger.child({ module: 'herdsman' }), secretStrings(secrets));
      controller = new Controller({
        network: {
          panID: cfg.panId,
          channelList: [cfg.channel],
          networkKey: secrets.networkKey,
          extendedPanID: secrets.extendedPanId,
        },
        serialPort: { path: cfg.path, adapter: cfg.adapter },
        databasePath: join(this.dir, 'database.db'),
        databaseBackupPath: join(this.dir, 'database.db.backup'),
        backupPath: join(this.dir, 'coordinator-backup.json'),
        adapter: { disableLED: true },
        // Undeclared devices are admitted and listed (see the driver), not silently dropped.
        acceptJoiningDeviceHandler: () => Promise.resolve(true),
      });
      this.controller = controller;
      const result = await controller.start();
      if (this.stopped) {
        await this.teardown();
        return;
      }
      this.log.info(
        { result, ms: Date.now() - started, channel: cfg.channel, panId: cfg.panId },
        `ZigBee network ${result === 'reset' ? 'formed' : result} on coordinator ${this.path}`,
      );
    } catch (err) {
      this.log.warn(
        { err: errorMessage(err) },
        `starting ZigBee coordinator ${this.path} failed: ${errorMessage(err)}`,
      );
      await this.teardown();
      this.schedule();
      return;
    }
    controller.on('message', (m) => this.emit('message', m as unknown as ZclMessage));
    controller.on('deviceJoined', (p) => this.emit('joined', p.device, 'joined'));
    controller.on('deviceInterview', (p) => this.emit('joined', p.device, p.status));
    controller.on('adapterDisconnected', () => this.onDisconnected());
    this.up = true;
    this.backoff.reset();
    for (const w of [...this.waiters]) w();
    this.emit('up');
  }

  private onDisconnected(): void {
    if (!this.up) return;
    this.up = false;
    const err = new EdgeTwinError(
      'ET_UNAVAILABLE',
      `lost the connection to ZigBee coordinator ${this.path}; reconnecting`,
      {
        details: { coordinator: this.path },
      },
    );
    this.log.warn(err.message);
    this.emit('lost', err);
    void this.teardown().then(() => this.schedule());
  }

  /** Stops the controller, closing its adapter connection even when start() failed half-way. */
  private async teardown(): Promise<void> {
    this.up = false;
    const c = this.controller;
    this.controller = undefined;
    if (!c) return;
    c.removeAllListeners();
    try {
      await c.stop();
    } catch (err) {
      this.log.debug({ err: errorMessage(err) }, 'stopping the controller failed');
    }
    const adapter = (c as unknown as { adapter?: { stop(): Promise<void> } }).adapter;
    try {
      await adapter?.stop();
    } catch {
      // already closed
    }
  }
}
