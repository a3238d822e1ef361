/**
 * Reporting: values offered by reads and pushes are kept per property (latest wins) and sent as
 * one DMI ReportDeviceStatus per report cycle group, only when they changed since the last report.
 * Sends are serialized; report cycles that come while a send is in flight share one queued send,
 * so slow answers coalesce instead of piling up. A write outcome (`outcome`) travels in the same
 * report as the value read back, as the twin's `observedDesired` (EdgeTwin metadata: status,
 * version, code, reason). DMI carries any string, so every typed value reaches the twin (a STRING
 * "a b" or non-ASCII text, which KubeEdge's `$hw` MQTT value pattern forbids).
 */
import type { Logger } from 'pino';
import type { PbTwin, PbTwinProperty } from '../dmi/messages.js';
import { errorMessage } from '../errors.js';
import { formatValue, valuesEqual, wireTypeOf, type TwinValue } from '../schema/values.js';
import type { Clock, ClockTimer } from '../util/clock.js';
import type { MapperDevice, Reading } from './types.js';

/** Where reports go: edgecore's DeviceManagerService (DmiChannel). */
export interface TwinChannel {
  reportStatus(ref: { namespace: string; name: string }, twins: PbTwin[]): Promise<void>;
  reportState(ref: { namespace: string; name: string }, state: string): Promise<void>;
}

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
  private readonly outcomes = new Map<string, PbTwinProperty>();
  private readonly last = new Map<string, TwinValue>();
  private readonly lastQuality = new Map<string, string | undefined>();
  private readonly timers = new Set<ClockTimer>();
  private chain: Promise<void> = Promise.resolve();
  private readonly dueNames = new Set<string>();
  private stopped = false;

  constructor(
    private readonly device: MapperDevice<unknown, unknown>,
    private readonly channel: TwinChannel,
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
    const metadata: Record<string, string> = { status: o.status, timestamp: String(this.clock.now()) };
    if (o.version !== undefined) metadata.version = String(o.version);
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
    const outcomes = new Map<string, PbTwinProperty>();
    for (const [name, o] of this.outcomes) if (!names || names.includes(name)) outcomes.set(name, o);
    if (taken.size === 0 && outcomes.size === 0) return;
    const twins = new Map<string, PbTwin>();
    const previous = new Map<string, TwinValue | undefined>();
    for (const [name, o] of outcomes) {
      this.outcomes.delete(name);
      twins.set(name, { propertyName: name, observedDesired: o });
    }
    for (const [name, v] of taken) {
      this.pending.delete(name);
      const prop = this.device.properties.find((p) => p.name === name)!;
      previous.set(name, this.last.get(name));
      this.last.set(name, v.value);
      this.lastQuality.set(name, v.quality);
      const metadata: Record<string, string> = { timestamp: String(v.timestamp), type: wireTypeOf(prop.model.type) };
      if (v.quality) metadata.quality = v.quality;
      twins.set(name, { ...twins.get(name), propertyName: name, reported: { value: formatValue(v.value), metadata } });
    }
    try {
      await this.channel.reportStatus(this.device, [...twins.values()]);
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
          `report of device ${this.device.id} (${[...previous.keys()].join(', ')}) failed: ${errorMessage(err)}`,
        );
      }
    }
  }

  /** The value last reported for `property`, if any. */
  lastReported(property: string): TwinValue | undefined {
    return this.last.get(property);
  }

  /** The twins last reported, for DMI GetDevice. */
  reportedTwins(): PbTwin[] {
    return [...this.last].map(([name, value]) => ({
      propertyName: name,
      reported: { value: formatValue(value), metadata: {} },
    }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    await this.chain.catch(() => undefined);
  }
}
