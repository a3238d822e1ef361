/**
 * The edge side of cloud sync, independent of the transport: it stores what the cloud sends
 * (acknowledging only after the store committed), applies it to the twin, and turns twin
 * changes into outbox entries that stay in SQLite until the cloud confirms them.
 *
 * Merge rules (ARCHITECTURE.md): the twin engine takes a spec desired value only when the spec
 * changed since it was last applied, so a desired value set at the edge while offline survives an
 * unchanged spec and is sent up; when the cloud changed the same property, the cloud's value wins
 * and the edge's pending upstream value is dropped. Reported values and state only flow up.
 */
import {
  errorMessage,
  formatValue,
  indexModels,
  resolveDevice,
  type Device,
  type DeviceModel,
  type ResolvedDevice,
} from '@edgetwin/sdk';
import type { Logger } from 'pino';
import type { TwinChangeEvent, TwinSnapshot } from '@edgetwin/device-twin';
import {
  envelope,
  type AckContent,
  type Envelope,
  type HelloContent,
  type OutboxEntry,
  type SyncContent,
  type UpstreamContent,
} from '@edgetwin/cloud-link';
import type { CloudSyncStore, StoredResource } from './store.js';

/** What cloud sync needs from the TwinService. */
export interface SyncTwin {
  applyResources(r: { models: DeviceModel[]; devices: ResolvedDevice[] }): unknown;
  getTwin(id: string): TwinSnapshot | undefined;
  on(event: 'change', fn: (e: TwinChangeEvent) => void): unknown;
  off(event: 'change', fn: (e: TwinChangeEvent) => void): unknown;
}

export interface SyncAgentOptions {
  twin: SyncTwin;
  store: CloudSyncStore;
  logger: Logger;
  /** Upstream entries per message (default 500). */
  batchSize?: number;
  /** Resend entries not confirmed after this long on one connection (default 15 s). */
  resendAfterMs?: number;
  /** Called after each apply with the devices now on this node (e.g. to start their mappers). */
  onApplied?: (devices: ResolvedDevice[]) => void;
}

type Send = (e: Envelope) => boolean;

function reportedItems(id: string, s: TwinSnapshot, props: string[]): Array<{ key: string; entry: OutboxEntry }> {
  const items: Array<{ key: string; entry: OutboxEntry }> = [];
  for (const p of props) {
    const r = s.reported[p];
    if (!r) continue;
    const entry: OutboxEntry = {
      kind: 'reported',
      device: id,
      property: p,
      value: formatValue(r.value),
      updatedAt: r.updatedAt,
    };
    if (r.quality !== undefined) entry.quality = r.quality;
    const d = s.desired[p];
    if (d) entry.observedDesired = formatValue(d.value);
    items.push({ key: `r|${id}|${p}`, entry });
  }
  return items;
}

function stateItem(id: string, s: TwinSnapshot): { key: string; entry: OutboxEntry } {
  const entry: OutboxEntry = { kind: 'state', device: id, state: s.state };
  if (s.lastOnline !== undefined) entry.lastOnline = s.lastOnline;
  return { key: `s|${id}`, entry };
}

/** A copy of the Device with some properties' desired values replaced. */
function withDesired(d: Device, values: ReadonlyMap<string, string>): Device {
  return {
    ...d,
    spec: {
      ...d.spec,
      properties: d.spec.properties.map((p) => {
        const v = values.get(p.name);
        return v === undefined ? p : { ...p, desired: { ...p.desired, value: v } };
      }),
    },
  };
}

function desiredOf(obj: unknown): Map<string, string> {
  const d = obj as Device | undefined;
  return new Map(
    (d?.spec.properties ?? []).flatMap((p) =>
      p.desired?.value === undefined ? [] : [[p.name, p.desired.value] as const],
    ),
  );
}

export class CloudSyncAgent {
  private readonly log: Logger;
  private send: Send | undefined;
  private readonly resources = new Map<string, StoredResource>();
  private readonly inflight = new Map<string, { seq: number; at: number }>();
  /** Desired values this edge sent up, per outbox key, so their echo in the spec is recognised. */
  private readonly sentDesired = new Map<string, string[]>();
  /** The latest desired value an edge writer set, per outbox key, until the cloud agrees or overrides. */
  private readonly edgeDesired = new Map<string, string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private resendTimer: NodeJS.Timeout | undefined;
  /** True once the first sync after a connect has been applied: the outbox may then be sent. */
  private ready = false;
  private readonly onChange = (e: TwinChangeEvent): void => this.recordChange(e);
  /** What arrived from the cloud: sync messages, objects stored, objects dropped. */
  readonly received = { syncs: 0, upserts: 0, deletes: 0, lastInitialUpserts: 0 };
  /** Devices that are in the twin but failed to resolve, with the reason. */
  readonly invalid = new Map<string, string>();

  constructor(private readonly opts: SyncAgentOptions) {
    this.log = opts.logger.child({ module: 'cloud-sync' });
  }

  /** Loads the last synced resources into the twin (offline autonomy) and starts recording changes. */
  async start(): Promise<void> {
    for (const r of this.opts.store.resources()) this.resources.set(r.key, r);
    if (this.resources.size > 0) await this.applyToTwin();
    this.opts.twin.on('change', this.onChange);
    // A crash between a twin commit and its outbox write would lose that update; queueing the
    // current reported values and states once at start closes that window (the cloud's status
    // patch is idempotent).
    const items: Array<{ key: string; entry: OutboxEntry }> = [];
    for (const id of this.deviceIds()) {
      const snap = this.opts.twin.getTwin(id);
      if (!snap) continue;
      items.push(...reportedItems(id, snap, Object.keys(snap.reported)), stateItem(id, snap));
    }
    if (items.length > 0) this.opts.store.putOutbox(items);
    this.resendTimer = setInterval(() => this.resendStale(), 2000);
    this.resendTimer.unref();
  }

  stop(): void {
    this.opts.twin.off('change', this.onChange);
    clearTimeout(this.flushTimer);
    clearInterval(this.resendTimer);
    this.send = undefined;
  }

  /** Devices the cloud assigned to this node. */
  deviceIds(): string[] {
    return [...this.resources.keys()].filter((k) => k.startsWith('Device/')).map((k) => k.slice('Device/'.length));
  }

  connected(send: Send): void {
    this.send = send;
    this.ready = false;
    this.inflight.clear();
    const holds: HelloContent['holds'] = {};
    for (const r of this.resources.values()) holds[r.key] = r.resourceVersion;
    send(envelope('edge', 'hub', 'hello', 'node', { holds } satisfies HelloContent));
  }

  disconnected(): void {
    this.send = undefined;
    this.ready = false;
    this.inflight.clear();
  }

  async receive(msg: Envelope): Promise<void> {
    const op = msg.route.operation;
    if (op === 'sync') {
      await this.applySync(msg.content as SyncContent);
      this.send?.(envelope('edge', 'hub', 'ack', msg.route.resource, {}, msg.header.id));
      if ((msg.content as SyncContent).initial) {
        this.ready = true;
        this.flush();
      }
    } else if (op === 'ack') {
      const done = (msg.content as AckContent).done ?? [];
      this.opts.store.confirm(done);
      for (const d of done) if (this.inflight.get(d.key)?.seq === d.seq) this.inflight.delete(d.key);
    }
  }

  private async applySync(c: SyncContent): Promise<void> {
    this.received.syncs++;
    this.received.upserts += c.upserts.length;
    this.received.deletes += c.deletes.length;
    if (c.initial) this.received.lastInitialUpserts = c.upserts.length;
    // A desired value that changed in the cloud wins over pending edge writes, unless the change
    // only echoes a value this edge sent up: then the edge's newer value (on its way up) is kept
    // in the stored spec, so the twin does not flip back to the older value meanwhile.
    const overridden: string[] = [];
    const upserts = c.upserts.map((u) => {
      if (!u.key.startsWith('Device/')) return u;
      const id = u.key.slice('Device/'.length);
      const before = desiredOf(this.resources.get(u.key)?.object);
      const keep = new Map<string, string>();
      for (const [p, v] of desiredOf(u.object)) {
        if (before.get(p) === v) continue;
        const key = `d|${id}|${p}`;
        const sent = this.sentDesired.get(key);
        const mine = this.edgeDesired.get(key);
        const at = sent?.indexOf(v) ?? -1;
        if (sent && at >= 0) {
          // Values sent before this one are either echoed already or were skipped.
          sent.splice(0, at + 1);
          if (mine === undefined || mine === v) this.edgeDesired.delete(key);
          else keep.set(p, mine);
        } else {
          overridden.push(key);
          this.sentDesired.delete(key);
          this.edgeDesired.delete(key);
        }
      }
      return keep.size === 0 ? u : { ...u, object: withDesired(u.object as Device, keep) };
    });
    this.opts.store.applySync(upserts, c.deletes);
    if (overridden.length > 0) this.opts.store.dropOutbox(overridden);
    for (const u of upserts) this.resources.set(u.key, u);
    for (const k of c.deletes) this.resources.delete(k);
    if (upserts.length > 0 || c.deletes.length > 0) await this.applyToTwin();
  }

  private async applyToTwin(): Promise<void> {
    const models: DeviceModel[] = [];
    const devices: Device[] = [];
    for (const r of this.resources.values()) {
      if (r.key.startsWith('DeviceModel/')) models.push(r.object as DeviceModel);
      else devices.push(r.object as Device);
    }
    const byKey = indexModels(models);
    const resolved: ResolvedDevice[] = [];
    this.invalid.clear();
    for (const d of devices) {
      const r = this.resolve(d, byKey);
      if (r) resolved.push(r);
    }
    await this.opts.twin.applyResources({ models, devices: resolved });
    this.opts.onApplied?.(resolved);
  }

  /**
   * Resolves a Device from the cloud. A desired value that does not fit its property is left out
   * (the device keeps working, the problem is logged and kept in `invalid`); a Device whose model
   * or properties do not resolve is skipped until a later sync fixes it.
   */
  private resolve(device: Device, models: ReadonlyMap<string, DeviceModel>): ResolvedDevice | undefined {
    const id = `${device.metadata.namespace ?? 'default'}/${device.metadata.name}`;
    const problems: string[] = [];
    try {
      const r = resolveDevice(device, models, {
        onBadDesired: (err) => {
          problems.push(errorMessage(err));
          this.log.warn({ device: id, err: errorMessage(err) }, 'desired value from the cloud does not fit; left out');
        },
      });
      if (problems.length > 0) this.invalid.set(id, problems.join('; '));
      return r;
    } catch (err) {
      problems.push(errorMessage(err));
      this.invalid.set(id, problems.join('; '));
      this.log.warn({ device: id, err: problems.at(-1) }, 'device from the cloud is not valid; skipped');
      return undefined;
    }
  }

  private recordChange(e: TwinChangeEvent): void {
    if (!this.resources.has(`Device/${e.id}`)) return;
    const s = e.snapshot;
    const items: Array<{ key: string; entry: OutboxEntry }> = [];
    if (e.kind === 'reported') {
      items.push(...reportedItems(e.id, s, e.changed));
    } else if (e.kind === 'state') {
      items.push(stateItem(e.id, s));
    } else if (e.kind === 'write') {
      return; // write statuses stay on the edge
    } else {
      for (const p of e.changed) {
        const d = s.desired[p];
        // Values from the spec came from the cloud; only edge writers go up.
        if (!d || d.source === 'spec' || d.source === 'cloud') continue;
        this.edgeDesired.set(`d|${e.id}|${p}`, formatValue(d.value));
        items.push({
          key: `d|${e.id}|${p}`,
          entry: { kind: 'desired', device: e.id, property: p, value: formatValue(d.value), source: d.source },
        });
      }
    }
    if (items.length === 0) return;
    this.opts.store.putOutbox(items);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer || !this.ready) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, 20);
  }

  /** Sends outbox entries that are not already on their way. */
  private flush(): void {
    const send = this.send;
    if (!send || !this.ready) return;
    const batch = this.opts.batchSize ?? 500;
    const now = Date.now();
    let entries: UpstreamContent['entries'] = [];
    for (const row of this.opts.store.outbox()) {
      if (this.inflight.get(row.key)?.seq === row.seq) continue;
      if (row.entry.kind === 'desired') {
        let sent = this.sentDesired.get(row.key);
        if (!sent) this.sentDesired.set(row.key, (sent = []));
        sent.push(row.entry.value);
      }
      entries.push(row);
      this.inflight.set(row.key, { seq: row.seq, at: now });
      if (entries.length >= batch) {
        if (!send(envelope('edge', 'twin', 'upstream', 'twins', { entries }))) return this.disconnected();
        entries = [];
      }
    }
    if (entries.length > 0 && !send(envelope('edge', 'twin', 'upstream', 'twins', { entries }))) this.disconnected();
  }

  private resendStale(): void {
    const limit = Date.now() - (this.opts.resendAfterMs ?? 15_000);
    let stale = false;
    for (const [k, v] of this.inflight) {
      if (v.at < limit) {
        this.inflight.delete(k);
        stale = true;
      }
    }
    if (stale) this.flush();
  }

  outboxSize(): number {
    return this.opts.store.outboxSize();
  }
}
