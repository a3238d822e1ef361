/**
 * The cloud half of the pod relay: watches the pods Kubernetes binds to nodes
 * (`fieldSelector=spec.nodeName!=`) and the ConfigMaps their volumes read, sends each connected
 * edge its full pod set whenever that set changes (status-only changes, such as the status the
 * edge itself reports, are not echoed back), writes the pod status edges report, and removes a
 * terminating pod's object once its edge has stopped its containers (what kubelet does).
 */
import { envelope, type Envelope } from '@edgetwin/cloud-link';
import { Informer, KubeApiError, podPath, PodStatusWriter, type KubeClient, type KubeObject } from './k8s/index.js';
import { errorMessage } from '@edgetwin/sdk';
import type { Logger } from 'pino';
import type { HubSession } from './hub/cloud-hub.js';
import { POD_GROUP, type PodAckContent, type PodsContent, type PodStatusContent } from '@edgetwin/cloud-link';
import { TickCoalescer } from './tick-coalescer.js';

export interface KubePod extends KubeObject {
  metadata: KubeObject['metadata'] & {
    uid?: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: { nodeName?: string; volumes?: Array<{ configMap?: { name?: string } }>; [k: string]: unknown };
}

export interface PodRelayOptions {
  client: KubeClient;
  logger: Logger;
  statusIntervalMs?: number;
  watchTimeoutSeconds?: number;
}

const nsOf = (o: KubeObject): string => o.metadata.namespace ?? 'default';

function slimPod(p: KubePod): unknown {
  const m = p.metadata;
  const metadata: Record<string, unknown> = { name: m.name, namespace: nsOf(p) };
  for (const k of ['uid', 'labels', 'annotations', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const)
    if (m[k] !== undefined) metadata[k] = m[k];
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: p.spec };
}

export class PodRelay {
  readonly pods: Informer<KubePod>;
  readonly configMaps: Informer<KubeObject>;
  readonly status: PodStatusWriter;
  private readonly sessions = new Map<string, HubSession>();
  /** What each connected node was last sent (JSON), to skip unchanged sets. */
  private readonly lastSent = new Map<string, string>();
  private readonly dirty = new TickCoalescer((node) => this.sendSet(node));
  private readonly offs: Array<() => void> = [];
  private readonly log: Logger;

  constructor(private readonly opts: PodRelayOptions) {
    this.log = opts.logger.child({ module: 'pod-relay' });
    const w = opts.watchTimeoutSeconds === undefined ? {} : { watchTimeoutSeconds: opts.watchTimeoutSeconds };
    this.pods = new Informer<KubePod>(opts.client, '/api/v1/pods', this.log, {
      ...w,
      fieldSelector: 'spec.nodeName!=',
    });
    this.configMaps = new Informer<KubeObject>(opts.client, '/api/v1/configmaps', this.log, w);
    this.status = new PodStatusWriter(opts.client, this.log, opts.statusIntervalMs ?? 1000);
  }

  /** Starts both informers and waits for their first list, so no edge is sent a partial set. */
  async start(): Promise<void> {
    this.offs.push(
      this.pods.on((e) => {
        if (e.old?.spec.nodeName) this.markDirty(e.old.spec.nodeName);
        if (e.object.spec.nodeName) this.markDirty(e.object.spec.nodeName);
      }),
      this.configMaps.on(() => {
        for (const node of this.sessions.keys()) this.markDirty(node);
      }),
    );
    this.pods.start();
    this.configMaps.start();
    await Promise.all([this.pods.synced, this.configMaps.synced]);
  }

  async stop(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    this.dirty.stop();
    this.status.stop();
    await Promise.all([this.pods.stop(), this.configMaps.stop()]);
  }

  connected(s: HubSession): void {
    this.sessions.set(s.node, s);
    this.lastSent.delete(s.node);
    this.sendSet(s.node);
  }

  disconnected(s: HubSession): void {
    if (this.sessions.get(s.node) !== s) return;
    this.sessions.delete(s.node);
    this.lastSent.delete(s.node);
  }

  message(s: HubSession, e: Envelope): void {
    if (this.sessions.get(s.node) !== s) return;
    if (e.route.operation === 'podStatus') void this.statuses(s, e);
  }

  /** The node's pods (terminating ones included, so the edge stops them) and their ConfigMaps. */
  setOf(node: string): PodsContent {
    const pods = [...this.pods.cache.values()]
      .filter((p) => p.spec.nodeName === node)
      .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    const cms = new Map<string, unknown>();
    for (const p of pods) {
      for (const v of p.spec.volumes ?? []) {
        const key = `${nsOf(p)}/${v.configMap?.name ?? ''}`;
        const cm = v.configMap?.name ? this.configMaps.cache.get(key) : undefined;
        if (cm)
          cms.set(key, {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: cm.metadata.name, namespace: nsOf(cm) },
            data: cm.data ?? {},
          });
      }
    }
    return { pods: pods.map(slimPod), configMaps: [...cms.values()] };
  }

  private markDirty(node: string): void {
    if (!this.sessions.has(node)) return;
    this.dirty.mark(node);
  }

  private sendSet(node: string): void {
    const s = this.sessions.get(node);
    if (!s) return;
    const content = this.setOf(node);
    const json = JSON.stringify(content);
    if (this.lastSent.get(node) === json) return;
    if (!s.send(envelope<PodsContent>('cloud', POD_GROUP, 'pods', 'pods', content))) return;
    this.lastSent.set(node, json);
    this.log.debug({ node, pods: content.pods.length }, 'pod set sent');
  }

  /** Writes a batch of pod status from `s` and confirms what Kubernetes now holds. */
  private async statuses(s: HubSession, e: Envelope): Promise<void> {
    const done: PodAckContent['done'] = [];
    await Promise.all(
      (e.content as PodStatusContent).entries.map(async (en) => {
        const pod = this.pods.cache.get(en.key);
        // A pod that is gone, bound elsewhere or replaced by a newer one: confirm and drop.
        if (!pod || pod.spec.nodeName !== s.node || (en.uid && pod.metadata.uid !== en.uid)) {
          done.push({ key: en.key, seq: en.seq });
          return;
        }
        try {
          if (en.deleted) {
            if (pod.metadata.deletionTimestamp) await this.remove(en.key, pod.metadata.uid);
          } else if (en.status) {
            await this.status.write(en.key, pod.metadata.uid, en.status);
          }
          done.push({ key: en.key, seq: en.seq });
        } catch (err) {
          this.log.warn(
            { node: s.node, pod: en.key, err: errorMessage(err) },
            'pod status not written; the edge resends it',
          );
        }
      }),
    );
    s.send(envelope<PodAckContent>('cloud', POD_GROUP, 'ack', 'pods', { done }, e.header.id));
  }

  /** The edge stopped a terminating pod: remove the object now (grace period 0, same uid only). */
  private async remove(key: string, uid: string | undefined): Promise<void> {
    const body = {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      gracePeriodSeconds: 0,
      ...(uid ? { preconditions: { uid } } : {}),
    };
    try {
      await this.opts.client.call('DELETE', podPath(key), body);
      this.log.info({ pod: key }, 'terminated pod removed from Kubernetes');
    } catch (err) {
      if (err instanceof KubeApiError && (err.status === 404 || err.status === 409)) return;
      throw err;
    }
  }
}
