/**
 * The edge half of the pod relay: applies the pod set cloudcore sends for this node to the pod
 * agent (always the full set, so `replace: true` deletes what Kubernetes no longer binds here),
 * and sends pod status upstream, coalesced per pod (latest wins) and kept until the cloud
 * confirms that Kubernetes holds it. While the cloud is unreachable nothing is deleted: the pods
 * keep running and the agent keeps reconciling them.
 */
import { envelope, type Envelope } from '@edgetwin/cloud-link';
import { errorMessage } from '@edgetwin/sdk';
import type { Logger } from 'pino';
import type { PodAgent } from '@edgetwin/agent';
import type { PodStatus } from '@edgetwin/agent';
import {
  localNodeInfo,
  POD_GROUP,
  type NodeInfoContent,
  type PodAckContent,
  type PodsContent,
  type PodStatusContent,
  type PodStatusEntry,
  type RejectedStatus,
} from '@edgetwin/cloud-link';

export interface EdgePodRelayOptions {
  agent: PodAgent;
  logger: Logger;
  /** The Node's `capacity.pods` (default 110, like kubelet). */
  maxPods?: number;
  /** Unconfirmed statuses are resent after this long (default 10 s). */
  resendMs?: number;
}

export class EdgePodRelay {
  private send: ((e: Envelope) => boolean) | undefined;
  /** Latest status per pod not yet confirmed by the cloud; `sentAt` 0 = not sent yet. */
  private readonly pending = new Map<string, { entry: PodStatusEntry; sentAt: number }>();
  /** The last status queued per pod (JSON), so an unchanged one is not sent twice. */
  private readonly lastQueued = new Map<string, string>();
  private readonly uids = new Map<string, string>();
  private seq = 0;
  private latest: PodsContent | undefined;
  private applying: Promise<void> | undefined;
  private flushScheduled = false;
  private readonly offs: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  /** Pod sets applied so far (for tests and logs). */
  applied = 0;

  constructor(private readonly opts: EdgePodRelayOptions) {
    this.log = opts.logger.child({ module: 'edge-pod-relay' });
  }

  start(): void {
    const { agent } = this.opts;
    this.offs.push(
      agent.on('podStatus', (ev) => {
        if (ev.source === 'cloud') this.queue(ev.key, { status: ev.status });
      }),
      agent.on('podDeleted', (ev) => {
        if (ev.source === 'cloud') this.queue(ev.key, { deleted: true });
      }),
    );
    const resendMs = this.opts.resendMs ?? 10_000;
    this.timer = setInterval(() => this.flush(resendMs), Math.max(100, Math.floor(resendMs / 2)));
  }

  /** Waits for a pod set being applied; statuses still unconfirmed are sent again after a restart. */
  async stop(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    clearInterval(this.timer);
    this.latest = undefined;
    await this.applying;
  }

  /** A session opened: say what this node is, then (re)send the status of every cloud pod. */
  connected(send: (e: Envelope) => boolean): void {
    this.send = send;
    const info = localNodeInfo(this.opts.agent.hostIP, this.opts.maxPods);
    send(envelope<NodeInfoContent>('edge', POD_GROUP, 'nodeInfo', 'node', info));
    this.lastQueued.clear();
    for (const p of this.opts.agent.listPods()) {
      if (p.source !== 'cloud') continue;
      if (p.pod.metadata.uid) this.uids.set(p.key, p.pod.metadata.uid);
      this.queue(p.key, { status: p.status });
    }
    for (const p of this.pending.values()) p.sentAt = 0;
    this.flush(0);
  }

  disconnected(): void {
    this.send = undefined;
  }

  message(e: Envelope): void {
    if (e.route.operation === 'pods') {
      // Only the newest set matters: a set arriving while one is applied replaces the queued one.
      this.latest = e.content as PodsContent;
      this.kick();
    } else if (e.route.operation === 'ack') {
      for (const d of (e.content as PodAckContent).done) {
        if (this.pending.get(d.key)?.entry.seq === d.seq) this.pending.delete(d.key);
      }
    }
  }

  private kick(): void {
    if (this.applying) return;
    this.applying = (async () => {
      for (let c = this.latest; c; c = this.latest) {
        this.latest = undefined;
        await this.apply(c).catch((err: unknown) =>
          this.log.error(
            { err: errorMessage(err) },
            'could not apply the pods from the cloud; waiting for the next set',
          ),
        );
      }
    })().finally(() => (this.applying = undefined));
  }

  private async apply(c: PodsContent): Promise<void> {
    const { agent } = this.opts;
    for (const cm of c.configMaps) {
      try {
        agent.applyConfigMaps([cm]);
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'ConfigMap from the cloud refused');
      }
    }
    for (const raw of c.pods) {
      const m = (raw as { metadata?: { name?: string; namespace?: string; uid?: string } }).metadata;
      if (m?.name && m.uid) this.uids.set(`${m.namespace ?? 'default'}/${m.name}`, m.uid);
    }
    const result = await agent.applyPods(c.pods, { replace: true });
    this.applied++;
    this.log.info(
      { pods: c.pods.length, applied: result.applied.length, deleted: result.deleted.length },
      'pods from the cloud applied',
    );
    for (const r of result.rejected) {
      const status: RejectedStatus = { phase: 'Failed', reason: 'EdgeTwinRejected', message: r.error.message };
      this.queue(r.key, { status });
    }
  }

  private queue(key: string, what: { status?: PodStatus | RejectedStatus; deleted?: boolean }): void {
    const json = JSON.stringify(what);
    if (this.lastQueued.get(key) === json) return;
    this.lastQueued.set(key, json);
    const entry: PodStatusEntry = { key, seq: ++this.seq, ...what };
    const uid = this.uids.get(key);
    if (uid) entry.uid = uid;
    if (what.deleted) {
      this.uids.delete(key);
      this.lastQueued.delete(key);
    }
    this.pending.set(key, { entry, sentAt: 0 });
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush(Number.POSITIVE_INFINITY);
    });
  }

  /** Sends the pending entries never sent, or sent more than `olderThanMs` ago. */
  private flush(olderThanMs: number): void {
    if (!this.send) return;
    const now = Date.now();
    const due = [...this.pending.values()].filter((p) => p.sentAt === 0 || now - p.sentAt > olderThanMs);
    for (let i = 0; i < due.length; i += 200) {
      const batch = due.slice(i, i + 200);
      const msg = envelope<PodStatusContent>('edge', POD_GROUP, 'podStatus', 'pods', {
        entries: batch.map((p) => p.entry),
      });
      if (!this.send(msg)) return;
      for (const p of batch) p.sentAt = now;
    }
  }
}
