/**
 * Edge nodes as Kubernetes Nodes. When an edge connects it sends its capacity and addresses;
 * the Node is created (label `node-role.kubernetes.io/edge: ""`) or updated, its Ready condition
 * set from heartbeats, and its Lease in `kube-node-lease` renewed on every heartbeat. An edge
 * silent for longer than the grace period (default 40 s, like kube-controller-manager) turns
 * Ready=Unknown with a reason; its pods are left alone: they keep running on the edge.
 */
import { errorMessage } from '@edgetwin/sdk';
import { KubeApiError, type KubeClient, type KubeList, type KubeObject } from './k8s/index.js';
import type { Logger } from 'pino';
import type { NodeInfoContent } from '@edgetwin/cloud-link';

export const EDGE_ROLE_LABEL = 'node-role.kubernetes.io/edge';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const DEFAULT_NODE_GRACE_MS = 40_000;

export interface NodeLifecycleOptions {
  client: KubeClient;
  logger: Logger;
  /** Silence after which a Node turns NotReady (default 40 s). */
  gracePeriodMs?: number;
  /** The Ready condition's lastHeartbeatTime is refreshed at most this often (default 60 s). */
  statusRefreshMs?: number;
}

interface Tracked {
  lastSeen: number;
  /** The Ready status wanted (set at once when the grace period runs out) and the one last written. */
  ready: string | undefined;
  written: string | undefined;
  readySince: string | undefined;
  statusAt: number;
  info: NodeInfoContent | undefined;
  uid: string | undefined;
  lease: KubeObject | undefined;
  chain: Promise<void>;
}

type Condition = { type: string; status: string; lastTransitionTime?: string };

const nodePath = (name = ''): string => `/api/v1/nodes${name ? `/${encodeURIComponent(name)}` : ''}`;
const leasePath = (name = ''): string =>
  `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases${name ? `/${encodeURIComponent(name)}` : ''}`;
const time = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const microTime = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, '000Z');

export class NodeLifecycle {
  private readonly nodes = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  readonly gracePeriodMs: number;

  constructor(private readonly opts: NodeLifecycleOptions) {
    this.log = opts.logger.child({ module: 'node-lifecycle' });
    this.gracePeriodMs = opts.gracePeriodMs ?? DEFAULT_NODE_GRACE_MS;
  }

  /** Picks up the edge Nodes that exist already: they get one grace period to reconnect. */
  async start(): Promise<void> {
    const list = await this.opts.client.call<KubeList<KubeObject & { status?: { conditions?: Condition[] } }>>(
      'GET',
      `${nodePath()}?labelSelector=${encodeURIComponent(EDGE_ROLE_LABEL)}`,
    );
    for (const n of list.items) {
      const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
      const t = this.track(n.metadata.name);
      t.ready = ready?.status;
      t.written = ready?.status;
      t.readySince = ready?.lastTransitionTime;
      t.uid = n.metadata.uid as string | undefined;
    }
    const every = Math.max(200, Math.min(5000, Math.floor(this.gracePeriodMs / 4)));
    this.timer = setInterval(() => this.check(), every);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.nodes.values()].map((t) => t.chain));
  }

  /** The Ready status cloudcore last wrote for `node` (for tests and `cloud nodes`). */
  readiness(node: string): string | undefined {
    return this.nodes.get(node)?.ready;
  }

  /** An edge (re)connected and said what it is: create or update its Node, mark it Ready. */
  nodeInfo(node: string, info: NodeInfoContent): void {
    const t = this.track(node);
    t.lastSeen = Date.now();
    t.info = info;
    this.inOrder(node, async () => {
      await this.ensureNode(node, t);
      await this.writeStatus(node, t, true);
      await this.renewLease(node, t);
    });
  }

  /** Any sign of life; renews the Lease and keeps the Ready condition fresh. */
  heartbeat(node: string): void {
    const t = this.nodes.get(node);
    if (!t?.info) return; // not registered yet: its nodeInfo comes first
    t.lastSeen = Date.now();
    this.inOrder(node, async () => {
      const refresh = Date.now() - t.statusAt > (this.opts.statusRefreshMs ?? 60_000);
      if (t.ready !== 'True' || refresh) await this.writeStatus(node, t, true);
      await this.renewLease(node, t);
    });
  }

  private track(node: string): Tracked {
    let t = this.nodes.get(node);
    if (!t) {
      t = {
        lastSeen: Date.now(),
        ready: undefined,
        written: undefined,
        readySince: undefined,
        statusAt: 0,
        info: undefined,
        uid: undefined,
        lease: undefined,
        chain: Promise.resolve(),
      };
      this.nodes.set(node, t);
    }
    return t;
  }

  private check(): void {
    const now = Date.now();
    for (const [node, t] of this.nodes) {
      if (t.ready !== 'True' || now - t.lastSeen <= this.gracePeriodMs) continue;
      this.log.warn(
        { node, silentMs: now - t.lastSeen },
        'edge node silent for longer than the grace period; NotReady',
      );
      t.ready = 'Unknown'; // at once, so the next check does not queue a second write
      this.inOrder(node, () => this.writeStatus(node, t, false));
    }
  }

  private inOrder(node: string, fn: () => Promise<void>): void {
    const t = this.track(node);
    t.chain = t.chain
      .then(fn)
      .catch((err: unknown) =>
        this.log.warn({ node, err: errorMessage(err) }, 'Node or Lease write failed; retried on the next heartbeat'),
      );
  }

  private async ensureNode(node: string, t: Tracked): Promise<void> {
    const labels: Record<string, string> = {
      [EDGE_ROLE_LABEL]: '',
      'kubernetes.io/hostname': node,
      'kubernetes.io/os': t.info?.nodeInfo.operatingSystem ?? 'linux',
      'kubernetes.io/arch': t.info?.nodeInfo.architecture ?? 'amd64',
    };
    try {
      const created = await this.opts.client.call<KubeObject>('POST', nodePath(), {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: node, labels },
        spec: {},
      });
      t.uid = created.metadata.uid as string | undefined;
      this.log.info({ node }, 'Node registered');
    } catch (err) {
      if (!(err instanceof KubeApiError) || err.status !== 409) throw err;
      const patched = await this.opts.client.call<KubeObject>('PATCH', nodePath(node), { metadata: { labels } });
      t.uid = patched.metadata.uid as string | undefined;
    }
  }

  private async writeStatus(node: string, t: Tracked, ready: boolean): Promise<void> {
    const now = Date.now();
    const status = ready ? 'True' : 'Unknown';
    const silentS = Math.round((now - t.lastSeen) / 1000);
    if (t.readySince === undefined || t.written !== status) t.readySince = time(now);
    const condition = {
      type: 'Ready',
      status,
      reason: ready ? 'EdgeCoreReady' : 'NodeStatusUnknown',
      message: ready
        ? 'edgecore is connected and posting heartbeats'
        : `edgecore stopped posting node status: no heartbeat for ${silentS} s (grace period ${Math.round(this.gracePeriodMs / 1000)} s); its pods keep running on the edge and are not evicted`,
      lastHeartbeatTime: time(ready ? now : t.lastSeen),
      lastTransitionTime: t.readySince,
    };
    const body: Record<string, unknown> = { conditions: [condition] };
    if (ready && t.info) {
      body.capacity = t.info.capacity;
      body.allocatable = t.info.capacity;
      body.addresses = t.info.addresses;
      body.nodeInfo = t.info.nodeInfo;
    }
    try {
      await this.opts.client.call('PATCH', nodePath(node) + '/status', { status: body });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) {
        this.log.info({ node }, 'Node was deleted in Kubernetes; it is registered again when the edge reconnects');
        this.nodes.delete(node);
        return;
      }
      throw err;
    }
    t.written = status;
    if (ready) t.ready = status;
    t.statusAt = now;
  }

  private async renewLease(node: string, t: Tracked): Promise<void> {
    const spec = {
      holderIdentity: node,
      leaseDurationSeconds: Math.max(1, Math.round(this.gracePeriodMs / 1000)),
      renewTime: microTime(Date.now()),
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        t.lease ??= await this.opts.client.call<KubeObject>('GET', leasePath(node)).catch((err: unknown) => {
          if (err instanceof KubeApiError && err.status === 404) return undefined;
          throw err;
        });
        if (!t.lease) {
          const owner = t.uid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node, uid: t.uid }] } : {};
          t.lease = await this.opts.client.call<KubeObject>('POST', leasePath(), {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: node, namespace: NODE_LEASE_NAMESPACE, ...owner },
            spec,
          });
          return;
        }
        const prev = (t.lease.spec ?? {}) as Record<string, unknown>;
        t.lease = await this.opts.client.call<KubeObject>('PUT', leasePath(node), {
          ...t.lease,
          spec: { ...prev, ...spec },
        });
        return;
      } catch (err) {
        // Someone else wrote the Lease (or it was deleted): read it again, once.
        if (err instanceof KubeApiError && (err.status === 409 || err.status === 404)) t.lease = undefined;
        else throw err;
      }
    }
  }
}
