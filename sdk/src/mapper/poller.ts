/**
 * Collect cycles of one device session: properties with the same collectCycle are read in one
 * `session.read()` call (so drivers can batch), the first time at once and then `collectCycle` ms
 * after the previous read finished, so reads of a slow device never overlap.
 */
import { EdgeTwinError, errorMessage } from '../errors.js';
import type { Clock, ClockTimer } from '../util/clock.js';
import { callWithTimeout } from './call.js';
import type { DeviceSession, MapperProperty, Reading } from './types.js';

export type ReadResults = Map<string, Reading | Error>;

export interface PollerOptions {
  session: DeviceSession<unknown>;
  properties: readonly MapperProperty<unknown>[];
  clock: Clock;
  callTimeoutMs: number;
  deviceId: string;
  onResults(results: ReadResults): void;
}

export class Poller {
  private readonly timers = new Set<ClockTimer>();
  private readonly ac = new AbortController();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly opts: PollerOptions) {}

  start(): void {
    const groups = new Map<number, MapperProperty<unknown>[]>();
    for (const p of this.opts.properties) groups.set(p.collectCycle, [...(groups.get(p.collectCycle) ?? []), p]);
    for (const [cycle, props] of groups) this.tick(cycle, props);
  }

  private tick(cycle: number, props: MapperProperty<unknown>[]): void {
    if (this.ac.signal.aborted) return;
    const run = this.readOnce(props).then(() => {
      this.running.delete(run);
      if (this.ac.signal.aborted) return;
      const timer = this.opts.clock.setTimeout(() => {
        this.timers.delete(timer);
        this.tick(cycle, props);
      }, cycle);
      this.timers.add(timer);
    });
    this.running.add(run);
  }

  /** Reads `props` once with the call timeout; every failure becomes an Error entry. */
  async readOnce(props: readonly MapperProperty<unknown>[]): Promise<ReadResults> {
    const { session, deviceId } = this.opts;
    let results: ReadResults;
    if (!session.read) {
      const err = new EdgeTwinError(
        'ET_INTERNAL',
        `the driver cannot read (no read()) and did not subscribe these properties`,
      );
      results = new Map(props.map((p) => [p.name, err]));
    } else {
      const read = session.read.bind(session);
      try {
        results = await callWithTimeout((signal) => read(props, signal), {
          timeoutMs: this.opts.callTimeoutMs,
          clock: this.opts.clock,
          signal: this.ac.signal,
          what: `read of device ${deviceId} (${props.map((p) => p.name).join(', ')})`,
        });
      } catch (err) {
        if (this.ac.signal.aborted) return new Map();
        const e = err instanceof Error ? err : new Error(errorMessage(err));
        results = new Map(props.map((p) => [p.name, e]));
      }
      for (const p of props) {
        if (!results.has(p.name)) results.set(p.name, new EdgeTwinError('ET_PROTOCOL', 'the driver returned no value'));
      }
    }
    if (!this.ac.signal.aborted) this.opts.onResults(results);
    return results;
  }

  async stop(): Promise<void> {
    this.ac.abort(new EdgeTwinError('ET_ABORTED', `polling of device ${this.opts.deviceId} stopped`));
    for (const t of this.timers) this.opts.clock.clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.running);
  }
}
