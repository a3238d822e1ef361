/**
 * The device controller's per-node half: which Devices and DeviceModels each edge node should
 * hold, what each connected node holds (from its hello, then from what was sent), and the diff
 * between the two. Objects are versioned by `uid/generation`, which moves with spec changes only,
 * so the status patches cloudcore itself writes are not echoed back down to the edge.
 */
import type { KubeDevice, KubeDeviceModel, DeviceController, InformerEvent } from './k8s/index.js';
import {
  envelope,
  type AckContent,
  type Envelope,
  type HelloContent,
  type SyncContent,
  type UpstreamContent,
} from '@edgetwin/cloud-link';
import { errorMessage } from '@edgetwin/sdk';
import type { Logger } from 'pino';
import type { HubHandler, HubSession } from './hub/cloud-hub.js';
import { TickCoalescer } from './tick-coalescer.js';
import { groupUpstream } from './upstream.js';

interface NodeState {
  session: HubSession;
  holds: Map<string, string>;
  ready: boolean;
  /** Sync messages sent and not acknowledged yet: id -> sent at. */
  unacked: Map<string, number>;
}

export function specVersion(o: { metadata: { uid?: string; generation?: number; resourceVersion?: string } }): string {
  return o.metadata.generation === undefined
    ? (o.metadata.resourceVersion ?? '')
    : `${o.metadata.uid ?? ''}/${o.metadata.generation}`;
}

function slim(o: KubeDevice | KubeDeviceModel): unknown {
  const m = o.metadata;
  const metadata: Record<string, unknown> = { name: m.name, namespace: m.namespace ?? 'default' };
  for (const k of ['uid', 'generation', 'resourceVersion', 'labels', 'annotations'] as const)
    if (m[k] !== undefined) metadata[k] = m[k];
  return { apiVersion: o.apiVersion, kind: o.kind, metadata, spec: o.spec };
}

export interface NodeSyncHooks {
  connected(node: string, address: string): void;
  disconnected(node: string): void;
  heartbeat(node: string, devices: number): void;
}

export class NodeSync implements HubHandler {
  private readonly nodes = new Map<string, NodeState>();
  /** node name -> device keys ({ns}/{name}) assigned to it */
  private readonly byNode = new Map<string, Set<string>>();
  private readonly dirty = new TickCoalescer((node) => this.reconcile(node, false));
  /** Per node: the tail of its desired writes to Kubernetes (kept across reconnects). */
  private readonly desiredChains = new Map<string, Promise<void>>();
  private readonly log: Logger;
  private readonly offs: Array<() => void> = [];
  private ackChecker: NodeJS.Timeout | undefined;
  /** Time a node may leave a sync unacknowledged before its session is closed (default 60 s). */
  ackTimeoutMs = 60_000;

  constructor(
    private readonly ctl: DeviceController,
    private readonly hooks: NodeSyncHooks,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'node-sync' });
  }

  start(): void {
    for (const d of this.ctl.devices.cache.values()) this.assign(d, undefined);
    this.offs.push(this.ctl.devices.on((e) => this.onDevice(e)));
    this.offs.push(this.ctl.models.on((e) => this.onModel(e)));
    this.ackChecker = setInterval(() => this.checkAcks(), 5000);
  }

  stop(): void {
    for (const off of this.offs) off();
    clearInterval(this.ackChecker);
    this.dirty.stop();
  }

  devicesOf(node: string): string[] {
    return [...(this.byNode.get(node) ?? [])];
  }

  private assign(d: KubeDevice, old: KubeDevice | undefined): void {
    const key = `${d.metadata.namespace ?? 'default'}/${d.metadata.name}`;
    const from = old?.spec.nodeName;
    if (from && from !== d.spec.nodeName) this.byNode.get(from)?.delete(key);
    const to = d.spec.nodeName;
    if (to) {
      let set = this.byNode.get(to);
      if (!set) this.byNode.set(to, (set = new Set()));
      set.add(key);
    }
  }

  private onDevice(e: InformerEvent<KubeDevice>): void {
    const d = e.object;
    const key = `${d.metadata.namespace ?? 'default'}/${d.metadata.name}`;
    if (e.type === 'delete') {
      if (d.spec.nodeName) this.byNode.get(d.spec.nodeName)?.delete(key);
      // A stale delete (its nodeName was changed meanwhile) is cleaned up on the next diff too.
      for (const set of this.byNode.values()) set.delete(key);
    } else {
      this.assign(d, e.old);
    }
    if (e.old?.spec.nodeName) this.markDirty(e.old.spec.nodeName);
    if (d.spec.nodeName) this.markDirty(d.spec.nodeName);
  }

  private onModel(e: InformerEvent<KubeDeviceModel>): void {
    const ns = e.object.metadata.namespace ?? 'default';
    const name = e.object.metadata.name;
    for (const [node, keys] of this.byNode) {
      if (!this.nodes.has(node)) continue;
      for (const k of keys) {
        const d = this.ctl.devices.cache.get(k);
        if (d && (d.metadata.namespace ?? 'default') === ns && d.spec.deviceModelRef.name === name) {
          this.markDirty(node);
          break;
        }
      }
    }
  }

  private markDirty(node: string): void {
    if (!this.nodes.get(node)?.ready) return;
    this.dirty.mark(node);
  }

  /** What `node` should hold: its Devices and the DeviceModels they use, by key -> object. */
  private want(node: string): Map<string, KubeDevice | KubeDeviceModel> {
    const out = new Map<string, KubeDevice | KubeDeviceModel>();
    for (const k of this.byNode.get(node) ?? []) {
      const d = this.ctl.devices.cache.get(k);
      if (!d || d.spec.nodeName !== node) continue;
      out.set(`Device/${k}`, d);
      const mk = `${d.metadata.namespace ?? 'default'}/${d.spec.deviceModelRef.name}`;
      const m = this.ctl.models.cache.get(mk);
      if (m) out.set(`DeviceModel/${mk}`, m);
    }
    return out;
  }

  private reconcile(node: string, initial: boolean): void {
    const st = this.nodes.get(node);
    if (!st) return;
    const want = this.want(node);
    const content: SyncContent = { upserts: [], deletes: [] };
    for (const [key, o] of want) {
      const v = specVersion(o);
      if (st.holds.get(key) !== v) content.upserts.push({ key, resourceVersion: v, object: slim(o) });
    }
    for (const key of st.holds.keys()) if (!want.has(key)) content.deletes.push(key);
    if (!initial && content.upserts.length === 0 && content.deletes.length === 0) return;
    if (initial) content.initial = true;
    const msg = envelope('cloud', 'resource', 'sync', node, content);
    if (!st.session.send(msg)) return;
    st.unacked.set(msg.header.id, Date.now());
    for (const u of content.upserts) st.holds.set(u.key, u.resourceVersion);
    for (const k of content.deletes) st.holds.delete(k);
  }

  private checkAcks(): void {
    const limit = Date.now() - this.ackTimeoutMs;
    for (const st of this.nodes.values()) {
      for (const at of st.unacked.values()) {
        if (at < limit) {
          this.log.warn({ node: st.session.node }, 'sync not acknowledged in time; closing the session so it resyncs');
          st.session.close(4001, 'sync not acknowledged');
          break;
        }
      }
    }
  }

  connected(s: HubSession): void {
    this.nodes.set(s.node, { session: s, holds: new Map(), ready: false, unacked: new Map() });
    this.hooks.connected(s.node, s.address);
  }

  disconnected(s: HubSession): void {
    if (this.nodes.get(s.node)?.session === s) this.nodes.delete(s.node);
    this.hooks.disconnected(s.node);
  }

  message(s: HubSession, e: Envelope): void {
    const st = this.nodes.get(s.node);
    if (!st || st.session !== s) return;
    switch (e.route.operation) {
      case 'hello':
        st.holds = new Map(Object.entries((e.content as HelloContent).holds ?? {}));
        st.ready = true;
        this.reconcile(s.node, true);
        // The node's device count is known now; heartbeats keep it fresh.
        this.hooks.heartbeat(s.node, [...st.holds.keys()].filter((k) => k.startsWith('Device/')).length);
        return;
      case 'ack':
        if (e.header.parentId) st.unacked.delete(e.header.parentId);
        return;
      case 'heartbeat':
        this.hooks.heartbeat(s.node, Number((e.content as { devices?: number }).devices ?? 0));
        return;
      case 'upstream':
        void this.upstream(s, e);
        return;
      default:
        this.log.warn({ node: s.node, op: e.route.operation }, 'unknown operation');
    }
  }

  /** Writes an upstream batch to Kubernetes and acknowledges what Kubernetes now holds. */
  private async upstream(s: HubSession, e: Envelope): Promise<void> {
    const { entries } = e.content as UpstreamContent;
    const groups = groupUpstream(entries, (device) => this.ctl.devices.cache.get(device)?.spec.nodeName === s.node);
    const done: NonNullable<AckContent['done']> = [...groups.dropped];
    await Promise.all(
      [...groups.byDevice].map(async ([device, g]) => {
        // Both writes are queued now, in the order the messages arrived: status updates merge in
        // the status writer, desired writes of one node run one after the other.
        const status = g.status ? this.ctl.writeStatus(device, g.status) : undefined;
        const desired =
          g.desired.size > 0
            ? this.inOrder(s.node, () => this.ctl.writeDesired(device, Object.fromEntries(g.desired)))
            : undefined;
        try {
          await Promise.all([status, desired]);
          done.push(...g.keys);
        } catch (err) {
          this.log.warn(
            { node: s.node, device, err: errorMessage(err) },
            'could not write an upstream change; the edge will resend it',
          );
        }
      }),
    );
    s.send(envelope<AckContent>('cloud', 'hub', 'ack', 'twins', { done }, e.header.id));
  }

  /** Runs `fn` after the node's earlier desired writes, so a later value never lands first. */
  private inOrder(node: string, fn: () => Promise<void>): Promise<void> {
    const run = (this.desiredChains.get(node) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined);
    this.desiredChains.set(node, tail);
    void tail.then(() => {
      if (this.desiredChains.get(node) === tail) this.desiredChains.delete(node);
    });
    return run;
  }
}
