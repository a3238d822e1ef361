/**
 * Cloud-joined mode on the edge: the edge hub (websocket to cloudcore) plus the cloud-sync agent
 * (SQLite state, outbox, merge rules) around a TwinService. The twin keeps serving HTTP and MQTT
 * whether or not the cloud is reachable.
 */
import { CloudSyncAgent, CloudSyncStore, type SyncTwin } from '../cloud-sync/index.js';
import { errorMessage, type ResolvedDevice } from '@edgetwin/sdk';
import { pino, type Logger } from 'pino';
import type { PodAgent } from '@edgetwin/agent';
import { EdgeHub } from './edge-hub.js';
import { NodeCredentials } from './node-credentials.js';
import { EdgePodRelay } from './edge-pod-relay.js';
import { POD_GROUP } from '@edgetwin/cloud-link';

export interface EdgeCloudSyncOptions {
  twin: SyncTwin;
  /** The edge data dir; cloud-sync state goes to `cloud-sync.db` in it. */
  dataDir: string;
  /** cloudcore's URL, e.g. https://cloud.example:10000 */
  cloudUrl: string;
  /**
   * Join token from `edgetwin cloud token create` (used once: the edge then keeps its node
   * certificate, or over plain http its node token).
   */
  token?: string;
  nodeName: string;
  /** PEM CA for a cloudcore with a private certificate. */
  ca?: string | Buffer;
  keepaliveMs?: number;
  logger?: Logger;
  /** The protocols of this node's devices, after every change (for the mapper supervisor). */
  onProtocols?: (protocols: Set<string>) => void;
  /** Runs the pods Kubernetes binds to this node and reports their status (a started agent). */
  pods?: PodAgent;
  /** The Node's `capacity.pods` (default 110). */
  maxPods?: number;
}

export class EdgeCloudSync {
  readonly store: CloudSyncStore;
  readonly agent: CloudSyncAgent;
  readonly hub: EdgeHub;
  readonly pods: EdgePodRelay | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(opts: EdgeCloudSyncOptions) {
    this.log = (opts.logger ?? pino({ level: 'warn' })).child({ module: 'edge-cloud-sync' });
    this.store = new CloudSyncStore(opts.dataDir);
    const onProtocols = opts.onProtocols;
    this.agent = new CloudSyncAgent({
      twin: opts.twin,
      store: this.store,
      logger: this.log,
      ...(onProtocols
        ? {
            onApplied: (devices: ResolvedDevice[]) =>
              onProtocols(new Set(devices.flatMap((d) => (d.protocolName ? [d.protocolName] : [])))),
          }
        : {}),
    });
    this.pods = opts.pods
      ? new EdgePodRelay({
          agent: opts.pods,
          logger: this.log,
          ...(opts.maxPods !== undefined ? { maxPods: opts.maxPods } : {}),
        })
      : undefined;
    this.hub = new EdgeHub({
      url: opts.cloudUrl,
      nodeName: opts.nodeName,
      ...(opts.token ? { joinToken: opts.token } : {}),
      ...(opts.ca ? { ca: opts.ca } : {}),
      ...(opts.keepaliveMs ? { keepaliveMs: opts.keepaliveMs } : {}),
      tokens: this.store,
      credentials: new NodeCredentials(opts.dataDir),
      logger: this.log,
      handler: {
        connected: (send) => {
          this.agent.connected(send);
          this.pods?.connected(send);
        },
        disconnected: () => {
          this.agent.disconnected();
          this.pods?.disconnected();
        },
        deviceCount: () => this.agent.deviceIds().length,
        // Messages are handled one at a time, in order.
        message: (e) => {
          if (e.route.group === POD_GROUP) return this.pods?.message(e);
          this.queue = this.queue
            .then(() => this.agent.receive(e))
            .catch((err: unknown) =>
              this.log.error({ err: errorMessage(err), op: e.route.operation }, 'cloud message failed'),
            );
        },
      },
    });
  }

  get connected(): boolean {
    return this.hub.connected;
  }

  /** Loads the last synced devices into the twin, then dials the cloud (in the background). */
  async start(): Promise<void> {
    await this.agent.start();
    this.pods?.start();
    this.hub.start();
  }

  async stop(): Promise<void> {
    await this.hub.stop();
    await this.queue;
    await this.pods?.stop();
    this.agent.stop();
    this.store.close();
  }
}
