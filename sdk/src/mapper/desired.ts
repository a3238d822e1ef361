/**
 * Desired values: deltas from edgecore and, when a session starts, the desired values edgecore
 * already holds (twin/get). Each desired version is handled once: refused when it does not fit
 * the property (ReadOnly, out of range), reported applied when the device already holds it, or
 * written with bounded retries (write-attempt.ts). Its outcome (applied with the value read
 * back, or failed with the device's code) goes to edgecore with the reported value.
 */
import type { Logger } from 'pino';
import { errorMessage, isEdgeTwinError } from '../errors.js';
import type { HwMsgTwin } from '../hw/messages.js';
import { validateDesired, valuesEqual, type TwinValue } from '../schema/values.js';
import { clip, WRITE_REASON_MAX } from '../schema/write-status.js';
import type { Clock } from '../util/clock.js';
import { callWithTimeout } from './call.js';
import type { HwClient } from './hw-client.js';
import type { ReadResults } from './poller.js';
import type { Reporter } from './reporter.js';
import type { DeviceSession, MapperDevice, MapperProperty } from './types.js';
import { sameOnDevice, writeUntilApplied } from './write-attempt.js';

/** A desired value to apply, with the desired version edgecore gave it when known. */
interface Wanted {
  raw: unknown;
  version: number | undefined;
}

export interface DesiredWriterOptions {
  device: MapperDevice<unknown, unknown>;
  logger: Logger;
  clock: Clock;
  callTimeoutMs: number;
  reporter: Reporter;
  hw: HwClient;
  session(): DeviceSession<unknown> | undefined;
  readOne(p: MapperProperty<unknown>): Promise<ReadResults> | undefined;
  onProblem(message: string): void;
  signal: AbortSignal;
  /** Writes per desired value at most (default 3). */
  maxWriteAttempts?: number;
  /** First pause between write attempts in ms (default 200, doubling). */
  writeRetryDelayMs?: number;
}

export class DesiredWriter {
  private chain: Promise<void> = Promise.resolve();
  /** Latest value seen from the device, per property. */
  private readonly current = new Map<string, TwinValue>();
  /** Per property, the desired value (version) already handled: it is not written again. */
  private readonly done = new Map<string, string>();
  /** Deltas that arrived while the device was disconnected. */
  private readonly waiting = new Map<string, Wanted>();

  constructor(private readonly opts: DesiredWriterOptions) {}

  observed(property: string, value: TwinValue): void {
    this.current.set(property, value);
  }

  /** A delta from edgecore; `twin` (the delta message's twins) gives the desired versions. */
  apply(delta: Record<string, unknown>, twin: Record<string, HwMsgTwin> = {}): void {
    const wanted = new Map<string, Wanted>();
    for (const [name, raw] of Object.entries(delta)) wanted.set(name, { raw, version: versionOf(twin[name]) });
    this.chain = this.chain.then(() => this.write(wanted)).catch((err) => this.failed(err));
  }

  /** A session started: apply what edgecore holds as desired (and deltas that came meanwhile). */
  connected(): void {
    this.chain = this.chain
      .then(async () => {
        const wanted = new Map(this.waiting);
        this.waiting.clear();
        try {
          const twin = await callWithTimeout(() => this.opts.hw.twinGet(this.opts.device), {
            timeoutMs: this.opts.callTimeoutMs,
            clock: this.opts.clock,
            signal: this.opts.signal,
            what: `twin/get of device ${this.opts.device.id}`,
          });
          for (const p of this.opts.device.properties) {
            const t = twin[p.name];
            const expected = t?.expected?.value;
            if (expected === undefined || expected === '' || wanted.has(p.name)) continue;
            if (p.model.accessMode === 'ReadOnly') continue; // twin/get holds no request to refuse
            const version = versionOf(t);
            const od = t?.observed_desired;
            // Already applied or refused (e.g. before a mapper restart): written once means once.
            if (od && (od.metadata.version !== undefined ? od.metadata.version === version : od.value === expected))
              continue;
            wanted.set(p.name, { raw: expected, version });
          }
        } catch (err) {
          this.opts.logger.warn(
            { err: errorMessage(err) },
            `could not get the twin of device ${this.opts.device.id} to apply desired values already set: ${errorMessage(err)}`,
          );
        }
        if (wanted.size > 0) await this.write(wanted);
      })
      .catch((err) => this.failed(err));
  }

  private failed(err: unknown): void {
    this.opts.logger.error(
      { err: errorMessage(err) },
      `applying desired values to ${this.opts.device.id} failed: ${errorMessage(err)}`,
    );
  }

  /** Resolves when no write is in flight. */
  async idle(): Promise<void> {
    await this.chain;
  }

  private async write(wanted: Map<string, Wanted>): Promise<void> {
    const { device, logger } = this.opts;
    for (const [name, w] of wanted) {
      if (this.opts.signal.aborted) return;
      const prop = device.properties.find((p) => p.name === name);
      if (!prop) {
        logger.warn(
          { property: name },
          `desired value for device ${device.id} names property ${name}, which the device does not list; ignored`,
        );
        continue;
      }
      const key = w.version !== undefined ? `v${w.version}` : `=${JSON.stringify(w.raw)}`;
      if (this.done.get(name) === key) {
        logger.debug(
          { property: name },
          `desired ${name} (${key}) of ${device.id} was already handled; not written again`,
        );
        continue;
      }
      let value: TwinValue;
      try {
        value = validateDesired(prop.model, w.raw);
      } catch (err) {
        this.done.set(name, key);
        await this.fail(
          prop,
          w,
          isEdgeTwinError(err) ? err.code : 'ET_BAD_VALUE',
          `refused desired value ${JSON.stringify(w.raw)} for device ${device.id} property ${name}: ${errorMessage(err)}`,
        );
        continue;
      }
      const session = this.opts.session();
      const now = this.current.get(name);
      const there =
        now !== undefined &&
        (session ? sameOnDevice(session, prop, value, now) : valuesEqual(prop.model.type, now, value));
      if (there) {
        this.done.set(name, key);
        this.opts.reporter.offer(name, { value: now }, true);
        this.opts.reporter.outcome(name, { value, version: w.version, status: 'applied' });
        await this.opts.reporter.flush([name]);
        continue;
      }
      if (!session) {
        this.waiting.set(name, w);
        logger.info(
          { property: name },
          `device ${device.id} is not connected; ${name}=${String(w.raw)} is written once it is`,
        );
        continue;
      }
      await this.writeOne(session, prop, value, w, key);
    }
  }

  private async writeOne(
    session: DeviceSession<unknown>,
    prop: MapperProperty<unknown>,
    value: TwinValue,
    w: Wanted,
    key: string,
  ): Promise<void> {
    const { device, logger, reporter } = this.opts;
    let outcome;
    try {
      outcome = await writeUntilApplied({
        deviceId: device.id,
        session,
        property: prop,
        value,
        readBack: async () => (await this.opts.readOne(prop))?.get(prop.name),
        clock: this.opts.clock,
        callTimeoutMs: this.opts.callTimeoutMs,
        signal: this.opts.signal,
        ...(this.opts.maxWriteAttempts !== undefined ? { maxAttempts: this.opts.maxWriteAttempts } : {}),
        ...(this.opts.writeRetryDelayMs !== undefined ? { retryDelayMs: this.opts.writeRetryDelayMs } : {}),
      });
    } catch (err) {
      if (this.opts.signal.aborted) return; // the session ended: written again when it is back
      throw err;
    }
    this.done.set(prop.name, key);
    if (outcome.status === 'applied' && outcome.reading) {
      this.current.set(prop.name, outcome.reading.value);
      logger.info(
        { property: prop.name, writes: outcome.writes },
        `wrote ${prop.name}=${String(value)} to device ${device.id}; it reads back ${String(outcome.reading.value)}`,
      );
      reporter.offer(prop.name, outcome.reading, true);
      reporter.outcome(prop.name, { value, version: w.version, status: 'applied' });
      await reporter.flush([prop.name]);
      return;
    }
    await this.fail(
      prop,
      w,
      outcome.code ?? 'ET_INTERNAL',
      `writing ${prop.name}=${String(value)} to device ${device.id} failed after ${outcome.writes} write(s): ${outcome.reason ?? 'unknown'}`,
    );
  }

  private async fail(prop: MapperProperty<unknown>, w: Wanted, code: string, msg: string): Promise<void> {
    this.opts.logger.warn({ property: prop.name, code }, msg);
    this.opts.onProblem(msg);
    const value =
      typeof w.raw === 'number' || typeof w.raw === 'boolean' || typeof w.raw === 'string' ? w.raw : String(w.raw);
    this.opts.reporter.outcome(prop.name, {
      value,
      version: w.version,
      status: 'failed',
      code,
      reason: clip(msg, WRITE_REASON_MAX),
    });
    await this.opts.reporter.flush([prop.name]);
  }
}

function versionOf(t: HwMsgTwin | undefined): number | undefined {
  const v = t?.expected_version?.edge;
  return typeof v === 'number' && v > 0 ? v : undefined;
}
