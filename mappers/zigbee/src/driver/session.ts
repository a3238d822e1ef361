/**
 * A live ZigBee device: pushes attribute reports as readings, reads attributes, and applies desired
 * values as ZCL commands or attribute writes, reading the attribute back to check the result.
 */
import { EdgeTwinError, errorMessage, type TwinValue } from '@edgetwin/sdk';
import { type DeviceSession, type MapperProperty, type Reading, type SessionHooks } from '@edgetwin/sdk/mapper';
import { Zcl } from 'zigbee-herdsman';
import { planWrite, toTwin, type ZclValue } from '../codec/zcl.js';
import type { Coordinator, HerdsmanDevice, ZclMessage } from '../transport/coordinator.js';
import type { ZigbeeVisitorConfig } from '../config.js';

type Prop = MapperProperty<ZigbeeVisitorConfig>;

export interface SessionOptions {
  coordinator: Coordinator;
  device: HerdsmanDevice;
  /** The device's default endpoint (protocol configData). */
  endpoint: number;
  hooks: SessionHooks;
  /** Timeout of one ZCL exchange (default 10 s). */
  timeoutMs?: number;
}

/** Rejects when `signal` aborts; the herdsman call itself cannot be cancelled and is left to finish. */
function raceSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** A herdsman failure as an EdgeTwinError with a stable code; ZCL status travels in details. */
export function zigbeeError(what: string, err: unknown): EdgeTwinError {
  if (err instanceof EdgeTwinError) return err;
  if (err instanceof Zcl.StatusError) {
    const status = Zcl.Status[err.code] ?? String(err.code);
    return new EdgeTwinError(
      'ET_PROTOCOL',
      `${what}: the device answered ZCL status ${status}; check the cluster/attribute in the visitor configData`,
      {
        cause: err,
        details: { zclStatus: err.code, zclStatusName: status },
      },
    );
  }
  const msg = errorMessage(err);
  if (/timeout|timed out/i.test(msg)) {
    return new EdgeTwinError(
      'ET_TIMEOUT',
      `${what}: no answer in time (${msg}); the device may be asleep or out of range`,
      { cause: err },
    );
  }
  return new EdgeTwinError('ET_UNAVAILABLE', `${what}: ${msg}`, { cause: err });
}

export class ZigbeeSession implements DeviceSession<ZigbeeVisitorConfig> {
  private subscribed: readonly Prop[] = [];
  /** Properties a report updated since the initial read was sent (their read result is stale). */
  private readonly pushed = new Set<string>();
  private unlisten: (() => void) | undefined;
  private closed = false;

  constructor(private readonly o: SessionOptions) {
    this.unlisten = o.coordinator.on({
      message: (m) => this.onMessage(m),
      lost: (err) => this.lost(err),
    });
  }

  private lost(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.unlisten?.();
    // Only the coordinator link reports loss here: the device is unhealthy until it is back.
    this.o.hooks.onLost(err, 'unhealthy');
  }

  private endpointOf(p: Prop): number {
    return p.visitor.endpoint ?? this.o.endpoint;
  }

  private endpoint(id: number) {
    const ep = this.o.device.getEndpoint(id);
    if (!ep) {
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `device ${this.o.device.ieeeAddr} has no endpoint ${id} (it has ${this.o.device.endpoints.map((e) => e.ID).join(', ') || 'none'}); fix the endpoint in the configData`,
        { details: { path: '/endpoint' } },
      );
    }
    return ep;
  }

  private onMessage(m: ZclMessage): void {
    if (this.closed || m.device.ieeeAddr !== this.o.device.ieeeAddr) return;
    if (m.type !== 'attributeReport' && m.type !== 'readResponse') return;
    const data = m.data as Record<string, ZclValue>;
    for (const p of this.subscribed) {
      if (p.visitor.cluster !== m.cluster || this.endpointOf(p) !== m.endpoint.ID) continue;
      const raw = data[p.visitor.attribute];
      if (raw === undefined) continue;
      this.pushed.add(p.name);
      this.o.hooks.onReading(p.name, toTwin(p, raw));
    }
  }

  async subscribe(properties: readonly Prop[], signal: AbortSignal): Promise<string[]> {
    this.subscribed = properties;
    this.pushed.clear();
    // Reports arrive on their own; one read now gives every property a value right away, unless a
    // report overtook the read (then the read's value is older and must not overwrite it).
    const first = await this.read(properties, signal);
    for (const [name, r] of first) if (!(r instanceof Error) && !this.pushed.has(name)) this.o.hooks.onReading(name, r);
    return [];
  }

  async read(properties: readonly Prop[], signal: AbortSignal): Promise<Map<string, Reading | Error>> {
    const out = new Map<string, Reading | Error>();
    const groups = new Map<string, Prop[]>();
    for (const p of properties) {
      const k = `${this.endpointOf(p)}/${p.visitor.cluster}`;
      groups.set(k, [...(groups.get(k) ?? []), p]);
    }
    for (const props of groups.values()) {
      const first = props[0]!;
      const what = `reading ${first.visitor.cluster} from ${this.o.device.ieeeAddr}`;
      try {
        const ep = this.endpoint(this.endpointOf(first));
        const attrs = [...new Set(props.map((p) => p.visitor.attribute))];
        const result = (await raceSignal(
          ep.read(first.visitor.cluster, attrs as never, {
            timeout: this.o.timeoutMs ?? 10_000,
            sendPolicy: 'immediate',
          }),
          signal,
        )) as Record<string, ZclValue>;
        for (const p of props) {
          const raw = result[p.visitor.attribute];
          out.set(
            p.name,
            raw === undefined
              ? new EdgeTwinError('ET_PROTOCOL', `${what}: no value for ${p.visitor.attribute}`, {
                  details: { zclStatusName: 'UNSUPPORTED_ATTRIBUTE' },
                })
              : toTwin(p, raw),
          );
        }
      } catch (err) {
        const e = zigbeeError(what, err);
        for (const p of props) out.set(p.name, e);
      }
    }
    return out;
  }

  async write(property: Prop, value: TwinValue, signal: AbortSignal): Promise<Reading | undefined> {
    const ep = this.endpoint(this.endpointOf(property));
    const plan = planWrite(property, value);
    const what = `setting ${property.name} on ${this.o.device.ieeeAddr}`;
    const timeout = this.o.timeoutMs ?? 10_000;
    try {
      if (plan.kind === 'command') {
        await raceSignal(
          ep.command(plan.cluster, plan.command, plan.payload as never, { timeout, sendPolicy: 'immediate' }),
          signal,
        );
      } else {
        await raceSignal(
          ep.write(plan.cluster, plan.attributes as never, { timeout, sendPolicy: 'immediate' }),
          signal,
        );
      }
    } catch (err) {
      throw zigbeeError(what, err);
    }
    // The command's default response says it was accepted; the attribute read back says it took effect.
    const back = (await this.read([property], signal)).get(property.name);
    if (back instanceof Error) throw back;
    return back;
  }

  close(): Promise<void> {
    this.closed = true;
    this.unlisten?.();
    this.unlisten = undefined;
    return Promise.resolve();
  }
}
