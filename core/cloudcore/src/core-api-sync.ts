/**
 * cloudcore's use of the Kubernetes core API: Nodes and Leases for the edges (NodeLifecycle) and
 * the pods bound to them (PodRelay). A cluster that serves no core API (a CRD-only API server)
 * answers 404 on /api/v1/nodes: then Node and Pod sync are off, logged once, and devices still
 * sync as before.
 */
import type { Envelope } from '@edgetwin/cloud-link';
import { KubeApiError, type KubeClient } from './k8s/index.js';
import { EdgeTwinError, errorMessage } from '@edgetwin/sdk';
import { withDeadline } from '@edgetwin/sdk/util';
import type { Logger } from 'pino';
import type { HubSession } from './hub/cloud-hub.js';
import type { NodeInfoContent } from '@edgetwin/cloud-link';
import { NodeLifecycle } from './node-lifecycle.js';
import { PodRelay } from './pod-relay.js';

export interface CoreApiSyncOptions {
  client: KubeClient;
  logger: Logger;
  nodeGracePeriodMs?: number;
  statusIntervalMs?: number;
  watchTimeoutSeconds?: number;
  /** How long start() waits for the first pod and ConfigMap lists (default 30 s). */
  startTimeoutMs?: number;
}

export class CoreApiSync {
  nodes: NodeLifecycle | undefined;
  pods: PodRelay | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: CoreApiSyncOptions) {
    this.log = opts.logger.child({ module: 'core-api-sync' });
  }

  /** Whether Nodes and Pods are synced (false on a cluster without the core API). */
  get enabled(): boolean {
    return this.pods !== undefined;
  }

  async start(): Promise<void> {
    try {
      await this.opts.client.call('GET', '/api/v1/nodes?limit=1');
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) {
        this.log.warn(
          'the Kubernetes API serves no core API (/api/v1/nodes: 404): Node and Pod sync are disabled, devices still sync',
        );
        return;
      }
      if (err instanceof KubeApiError && err.status === 403) {
        this.log.warn(
          'cloudcore may not list Nodes (403): Node and Pod sync are disabled; grant it nodes, nodes/status, pods, pods/status, configmaps and leases (deploy/)',
        );
        return;
      }
      throw err;
    }
    const nodes = new NodeLifecycle({
      client: this.opts.client,
      logger: this.log,
      ...(this.opts.nodeGracePeriodMs !== undefined ? { gracePeriodMs: this.opts.nodeGracePeriodMs } : {}),
    });
    const pods = new PodRelay({
      client: this.opts.client,
      logger: this.log,
      ...(this.opts.statusIntervalMs !== undefined ? { statusIntervalMs: this.opts.statusIntervalMs } : {}),
      ...(this.opts.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: this.opts.watchTimeoutSeconds } : {}),
    });
    const timeoutMs = this.opts.startTimeoutMs ?? 30_000;
    try {
      await withDeadline(
        Promise.all([nodes.start(), pods.start()]),
        timeoutMs,
        () =>
          new EdgeTwinError(
            'ET_TIMEOUT',
            `Kubernetes API did not list pods and ConfigMaps within ${timeoutMs} ms; check cloudcore's RBAC (list/watch pods, configmaps)`,
          ),
      );
    } catch (err) {
      await Promise.all([nodes.stop(), pods.stop()]);
      throw err;
    }
    this.nodes = nodes;
    this.pods = pods;
    this.log.info({ graceMs: nodes.gracePeriodMs }, 'Node and Pod sync enabled');
  }

  async stop(): Promise<void> {
    await this.pods?.stop();
    await this.nodes?.stop();
  }

  connected(s: HubSession): void {
    this.pods?.connected(s);
  }

  disconnected(s: HubSession): void {
    this.pods?.disconnected(s);
  }

  heartbeat(node: string): void {
    this.nodes?.heartbeat(node);
  }

  /** Messages of route group `pod`. */
  message(s: HubSession, e: Envelope): void {
    if (!this.pods || !this.nodes) return;
    try {
      if (e.route.operation === 'nodeInfo') this.nodes.nodeInfo(s.node, e.content as NodeInfoContent);
      else this.pods.message(s, e);
    } catch (err) {
      this.log.warn({ node: s.node, op: e.route.operation, err: errorMessage(err) }, 'pod link message failed');
    }
  }
}
