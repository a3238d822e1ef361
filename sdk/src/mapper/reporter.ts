/**
 * Reporting: values offered by reads and pushes are kept per property (latest wins) and sent as
 * one `$hw` twin/update per report cycle group, only when they changed since the last report.
 * Sends are serialized; report cycles that come while a send is in flight share one queued send,
 * so slow answers coalesce instead of piling up. A write outcome (`outcome`) travels in the same
 * twin/update as the value read back, as the property's `observed_desired`.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { TWIN_VALUE_PATTERN, type HwMsgTwin, type HwObservedDesired } from '../hw/messages.js';
import { formatValue, valuesEqual, wireTypeOf, type TwinValue } from '../schema/values.js';
import type { Clock, ClockTimer } from '../util/clock.js';
import type { HwClient } from './hw-client.js';
import type { MapperDevice, Reading } from './types.js';

/** The outcome of writing a desired value, for `Reporter.outcome`. */
export interface DesiredOutcome {
  /** The desired value written (model type). */
  value: TwinValue;
  /** Its desired version, when edgecore gave one. */
  version: number | undefined;
  status: 'applied' | 'failed';
  code?: string;
  reason?: string;
}

interface PendingValue {
  value: TwinValue;
  timestamp: number;
  quality: string | undefined;
}

export class Reporter {
  private readonly pending = new Map<string, PendingValue>();
  private readonly outcomes = new Map<string, HwObservedDesired>();
  private readonly last = new Map<string, TwinValue>();
  private readonly lastQuality = new Map<string, string | undefined>();
  private readonly timers = new Set<ClockTimer>();
  private chain: Promise<void> = Promise.resolve();
  private readonly dueNames = new Set<string>();
  private stopped = false;

  constructor(
    private readonly device: MapperDevice<unknown, unknown>,
    private readonly hw: HwClient,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** A new value; `force` reports it even when equal to the last report (a write's read-back). */
  offer(property: string, reading: Reading, force = false): void {
    const prop = this.device.properties.find((p) => p.name === property);
    if (!prop) return;
    const before = this.last.get(property);
    const sameQuality = this.lastQuality.get(property) === reading.quality;
    if (!force && before !== undefined && sameQuality && valuesEqual(prop.model.type, before, reading.value)) {
      this.pending.delete(property); // back to what edgecore already has
      return;
    }
    this.pending.set(property, {
      value: reading.value,
      timestamp: reading.sourceTime ?? this.clock.now(),
      quality: reading.quality,
    });
  }

  /** A write outcome, sent with the next report of `property` (call `flush` to send it now). */
  outcome(property: string, o: DesiredOutcome): void {
    const metadata: HwObservedDesired['metadata'] = { status: o.status, timestamp: this.clock.now() };
    if (o.version !== undefined) metadata.version = o.version;
    if (o.code !== undefined) metadata.code = o.code;
    if (o.reason !== undefined) metadata.reason = o.reason;
    this.outcomes.set(property, { value: formatValue(o.value).slice(0, 512), metadata });
  }

  /** Starts one timer per distinct reportCycle. */
  start(): void {
    const groups = new Map<number, string[]>();
    for (const p of this.device.properties) groups.set(p.reportCycle, [...(groups.get(p.reportCycle) ?? []), p.name]);
    for (const [cycle, names] of groups) this.schedule(cycle, names);
  }

  private schedule(cycle: number, names: string[]): void {
    if (this.stopped) return;
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(timer);
      this.schedule(cycle, names);
      this.due(names);
    }, cycle);
    this.timers.add(timer);
  }

  /** A report cycle came: one send waits behind the one in flight and takes every due group. */
  private due(names: readonly string[]): void {
    const first = this.dueNames.size === 0;
    for (const n of names) this.dueNames.add(n);
    if (!first) return;
    this.chain = this.chain.then(() => {
      const take = [...this.dueNames];
      this.dueNames.clear();
      return this.send(take);
    });
  }

  /** Sends the pending values of `names` (all when omitted) now, after any send in flight. */
  flush(names?: readonly string[]): Promise<void> {
    const run = this.chain.then(() => this.send(names));
    this.chain = run;
    return run;
  }

  private async send(names?: readonly string[]): Promise<void> {
    if (this.stopped) return;
    const taken = new Map<string, PendingValue>();
    for (const [name, v] of this.pending) if (!names || names.includes(name)) taken.set(name, v);
    const outcomes = new Map<string, HwObservedDesired>();
    for (const [name, o] of this.outcomes) if (!names || names.includes(name)) outcomes.set(name, o);
    if (taken.size === 0 && outcomes.size === 0) return;
    const twin: Record<string, HwMsgTwin> = {};
    const previous = new Map<string, TwinValue | undefined>();
    for (const [name, o] of outcomes) {
      this.outcomes.delete(name);
      const prop = this.device.properties.find((p) => p.name === name)!;
      twin[name] = { observed_desired: o, metadata: { type: wireTypeOf(prop.model.type) } };
    }
    for (const [name, v] of taken) {
      this.pending.delete(name);
      const prop = this.device.properties.find((p) => p.name === name)!;
      const text = formatValue(v.value);
      if (!TWIN_VALUE_PATTERN.test(text)) {
        this.logger.warn(
          { property: name },
          `device ${this.device.id} property ${name}: value ${JSON.stringify(text)} cannot travel in a $hw twin update (allowed: ${TWIN_VALUE_PATTERN.source}); not reported`,
        );
        continue;
      }
      previous.set(name, this.last.get(name));
      this.last.set(name, v.value);
      this.lastQuality.set(name, v.quality);
      twin[name] = {
        ...twin[name],
        actual: { value: text, metadata: { timestamp: v.timestamp, ...(v.quality ? { quality: v.quality } : {}) } },
        metadata: { type: wireTypeOf(prop.model.type) },
      };
    }
    if (Object.keys(twin).length === 0) return;
    try {
      await this.hw.twinUpdate(this.device, twin);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ET_UNAVAILABLE' || code === 'ET_TIMEOUT' || code === 'ET_ABORTED') {
        // Not delivered or not confirmed: send again next cycle unless newer values arrived meanwhile.
        for (const [name, o] of outcomes) if (!this.outcomes.has(name)) this.outcomes.set(name, o);
        for (const [name, prev] of previous) {
          if (!this.pending.has(name)) this.pending.set(name, taken.get(name)!);
          this.lastQuality.delete(name);
          if (prev === undefined) this.last.delete(name);
          else this.last.set(name, prev);
        }
        const level = code === 'ET_TIMEOUT' ? 'warn' : 'debug';
        this.logger[level](
          { err: errorMessage(err) },
          `report of ${this.device.id} postponed to the next cycle: ${errorMessage(err)}`,
        );
      } else {
        this.logger.error(
          { err: errorMessage(err), properties: [...previous.keys()] },
          `twin update of device ${this.device.id} (${[...previous.keys()].join(', ')}) failed: ${errorMessage(err)}`,
        );
      }
    }
  }

  /** The value last reported for `property`, if any. */
  lastReported(property: string): TwinValue | undefined {
    return this.last.get(property);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    await this.chain.catch(() => undefined);
  }
}
