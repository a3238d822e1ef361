/**
 * One device, one worker: connects through the driver (retrying with backoff when connect fails or
 * the session reports it is lost), subscribes push-capable properties, polls the rest, reports
 * values and keeps the device state (online after connect + first good read, unhealthy on read
 * errors, offline when disconnected). Workers share nothing, so one dead device never stalls others.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { DmiDesired } from '../dmi/convert.js';
import type { PbTwin } from '../dmi/messages.js';
import { Backoff, type BackoffOptions } from '../util/backoff.js';
import { sleep, type Clock } from '../util/clock.js';
import { RepeatedLog } from '../util/repeated-log.js';
import { callWithTimeout, deferred } from './call.js';
import { DesiredWriter } from './desired.js';
import { Poller, type ReadResults } from './poller.js';
import { Reporter, type TwinChannel } from './reporter.js';
import {
  lostStateOf,
  type DeviceSession,
  type LostState,
  type MapperDevice,
  type MapperDriver,
  type Reading,
  type SessionHooks,
} from './types.js';

export type DeviceState = 'online' | 'offline' | 'unhealthy';

export interface DeviceWorkerOptions {
  device: MapperDevice<unknown, unknown>;
  driver: MapperDriver<unknown, unknown>;
  channel: TwinChannel;
  /** The desired values edgecore sent with the device. */
  desired: ReadonlyMap<string, DmiDesired>;
  clock: Clock;
  logger: Logger;
  callTimeoutMs: number;
  backoff?: BackoffOptions;
}

export class DeviceWorker {
  readonly id: string;
  private readonly ac = new AbortController();
  private readonly backoff: Backoff;
  private readonly reporter: Reporter;
  private readonly desired: DesiredWriter;
  private readonly log: Logger;
  private readonly repeated: RepeatedLog;
  private running: Promise<void> | undefined;
  private session: DeviceSession<unknown> | undefined;
  private poller: Poller | undefined;
  private state: DeviceState | undefined;
  private stateSent = true;
  private lastError: string | undefined;

  constructor(private readonly opts: DeviceWorkerOptions) {
    this.id = opts.device.id;
    this.log = opts.logger.child({ device: this.id });
    this.repeated = new RepeatedLog(this.log, { clock: opts.clock });
    this.backoff = new Backoff({ initialMs: 500, maxMs: 30_000, ...opts.backoff });
    this.reporter = new Reporter(opts.device, opts.channel, opts.clock, this.log);
    this.desired = new DesiredWriter({
      device: opts.device,
      logger: this.log,
      clock: opts.clock,
      callTimeoutMs: opts.callTimeoutMs,
      reporter: this.reporter,
      session: () => this.session,
      readOne: (p) => this.poller?.readOnce([p]),
      onProblem: (msg) => this.problem(msg),
      signal: this.ac.signal,
    });
    this.desired.set(opts.desired, false);
  }

  start(): void {
    this.reporter.start();
    this.running = this.run().catch((err) =>
      this.log.error({ err: errorMessage(err) }, `worker of ${this.id} failed: ${errorMessage(err)}`),
    );
  }

  /** What an operator asks: current state and the last problem. */
  status(): { id: string; state: DeviceState | 'starting'; error?: string } {
    return {
      id: this.id,
      state: this.state ?? 'starting',
      ...(this.lastError === undefined ? {} : { error: this.lastError }),
    };
  }

  /** The device's desired values as edgecore sent them again (UpdateDevice with the same spec). */
  onDesired(desired: ReadonlyMap<string, DmiDesired>): void {
    this.desired.set(desired, this.session !== undefined);
  }

  /** The twins last reported (DMI GetDevice). */
  reportedTwins(): PbTwin[] {
    return this.reporter.reportedTwins();
  }

  /** The channel to edgecore came back: send the state again if it was not delivered. */
  onEdgecoreConnected(): void {
    if (!this.stateSent && this.state) this.sendState(this.state);
  }

  private async run(): Promise<void> {
    const signal = this.ac.signal;
    const { driver, device, clock, callTimeoutMs } = this.opts;
    const aborted = new Promise<Error>((resolve) =>
      signal.addEventListener('abort', () => resolve(new Error('stopped')), { once: true }),
    );
    while (!signal.aborted) {
      const lost = deferred<{ err: Error; state: LostState }>();
      let current = true;
      const hooks: SessionHooks = {
        onReading: (p, r) => {
          if (current) this.onPushed(p, r);
        },
        onLost: (err, state) => lost.resolve({ err, state: lostStateOf(err, state) }),
      };
      let session: DeviceSession<unknown>;
      let attempt: Promise<DeviceSession<unknown>> | undefined;
      try {
        session = await callWithTimeout((s) => (attempt = driver.connect(device, hooks, s)), {
          timeoutMs: callTimeoutMs,
          clock,
          signal,
          what: `connect to device ${this.id}`,
        });
      } catch (err) {
        // A driver that ignored the abort may still open a session: close it when it does.
        attempt?.then((late) => late.close()).catch(() => undefined);
        if (signal.aborted) break;
        const delay = this.backoff.next();
        this.lastError = `cannot connect: ${errorMessage(err)}`;
        this.repeated.warn(
          'connect',
          { err: errorMessage(err), retryInMs: delay },
          `cannot connect to device ${this.id}: ${errorMessage(err)}; retrying in ${delay} ms`,
          `cannot connect to device ${this.id}: ${errorMessage(err)}`,
        );
        this.setState(lostStateOf(err));
        await sleep(delay, signal, clock).catch(() => undefined);
        continue;
      }
      await this.serve(session);
      const lostOrStopped = await Promise.race([lost.promise, aborted]);
      const why = lostOrStopped instanceof Error ? lostOrStopped : lostOrStopped.err;
      const lostState = lostOrStopped instanceof Error ? 'offline' : lostOrStopped.state;
      current = false;
      await this.closeSession(session);
      if (signal.aborted) break;
      const delay = this.backoff.next();
      this.lastError = `connection lost: ${errorMessage(why)}`;
      this.log.warn(
        { err: errorMessage(why), retryInMs: delay },
        `lost device ${this.id}: ${errorMessage(why)}; reconnecting in ${delay} ms`,
      );
      this.setState(lostState);
      await sleep(delay, signal, clock).catch(() => undefined);
    }
  }

  /** Sets up a fresh session: subscriptions, polling, desired values already set. */
  private async serve(session: DeviceSession<unknown>): Promise<void> {
    const { device, clock, callTimeoutMs } = this.opts;
    this.session = session;
    this.repeated.clear('connect');
    this.log.info(`connected to device ${this.id}`);
    let polled = device.properties;
    if (session.subscribe) {
      const subscribe = session.subscribe.bind(session);
      try {
        const notSubscribed = await callWithTimeout((s) => subscribe(device.properties, s), {
          timeoutMs: callTimeoutMs,
          clock,
          signal: this.ac.signal,
          what: `subscribe to device ${this.id}`,
        });
        polled = device.properties.filter((p) => notSubscribed.includes(p.name));
      } catch (err) {
        if (this.ac.signal.aborted) return;
        this.log.warn(
          { err: errorMessage(err) },
          `subscribing to device ${this.id} failed, polling instead: ${errorMessage(err)}`,
        );
      }
    }
    if (this.ac.signal.aborted) return;
    if (polled.length === 0) this.markGood();
    this.poller = new Poller({
      session,
      properties: polled,
      clock,
      callTimeoutMs,
      deviceId: this.id,
      onResults: (r) => this.onReadResults(r),
    });
    this.poller.start();
    this.desired.connected();
  }

  private async closeSession(session: DeviceSession<unknown>): Promise<void> {
    const poller = this.poller;
    this.poller = undefined;
    this.session = undefined;
    await poller?.stop();
    await this.desired.idle();
    try {
      await callWithTimeout(() => session.close(), {
        timeoutMs: this.opts.callTimeoutMs,
        clock: this.opts.clock,
        what: `closing the session of device ${this.id}`,
      });
    } catch (err) {
      this.log.warn(
        { err: errorMessage(err) },
        `closing the session of device ${this.id} failed: ${errorMessage(err)}`,
      );
    }
  }

  private onReadResults(results: ReadResults): void {
    let bad = 0;
    for (const [name, r] of results) {
      if (r instanceof Error) {
        bad++;
        this.lastError = `read of ${name} failed: ${r.message}`;
        // An unknown node or a missing register fails the same way every cycle: say it once, then count.
        this.repeated.warn(
          `read:${name}`,
          { property: name, err: r.message },
          `read of device ${this.id} property ${name} failed: ${r.message}`,
        );
      } else {
        this.repeated.clear(`read:${name}`);
        this.desired.observed(name, r.value);
        this.reporter.offer(name, r);
      }
    }
    if (bad > 0) this.setState('unhealthy');
    else this.markGood();
  }

  private onPushed(property: string, reading: Reading): void {
    this.desired.observed(property, reading.value);
    this.reporter.offer(property, reading);
    if (this.state !== 'unhealthy') this.markGood();
  }

  private markGood(): void {
    this.backoff.reset();
    this.setState('online');
  }

  private problem(message: string): void {
    this.lastError = message;
    this.setState('unhealthy');
  }

  private setState(state: DeviceState): void {
    if (state === 'online') this.lastError = undefined;
    if (this.state === state) return;
    this.state = state;
    this.log.info({ state }, `device ${this.id} is ${state}`);
    this.sendState(state);
  }

  private sendState(state: DeviceState): void {
    this.stateSent = false;
    this.opts.channel.reportState(this.opts.device, state).then(
      () => {
        if (this.state === state) this.stateSent = true;
      },
      (err) => this.log.debug({ err: errorMessage(err) }, `state of ${this.id} not sent yet: ${errorMessage(err)}`),
    );
  }

  /**
   * Stops polling and closes the session. `flush` sends values not yet reported (not for a
   * removed device); `publishOffline` reports state offline (mapper shutdown).
   */
  async stop(opts: { flush?: boolean; publishOffline?: boolean } = {}): Promise<void> {
    this.ac.abort();
    await this.running;
    if (opts.flush !== false) await this.reporter.flush().catch(() => undefined);
    await this.reporter.stop();
    if (opts.publishOffline && this.state !== 'offline') {
      this.state = 'offline';
      await this.opts.channel.reportState(this.opts.device, 'offline').catch(() => undefined);
    }
  }
}
