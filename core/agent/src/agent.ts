/**
 * The pod agent: takes pods from a static manifest directory (embedded mode) and from the cloud
 * (`applyPods`, cloud-joined mode), runs them on containerd or as host processes, and reports
 * their status as events. Its state is in SQLite, so after an edgecore restart it adopts the
 * containers and processes still running, with or without the cloud.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { DEFAULT_NAMESPACE, EdgeTwinError } from '@edgetwin/sdk';
import type { Logger } from 'pino';
import type { CrashBackoffOptions } from './container-slot.js';
import { agentPaths, DEFAULT_CONTAINERD_ADDRESS, type AgentPaths } from './paths.js';
import { parseConfigMap, parsePod, podKey } from './pod-parse.js';
import type { ConfigMap, Pod } from './pod-schema.js';
import { PodWorker, type WorkerDeps } from './pod-worker.js';
import { RuntimeSet } from './runtime/runtime-set.js';
import type { RuntimeName } from './runtime/types.js';
import { MANIFEST_FILE_ANNOTATION, StaticPodSource, type ManifestSet } from './static-source.js';
import type { PodStatus } from './status.js';
import { AgentStore, type PodSource, type StoredPod } from './store.js';

export interface PodAgentOptions {
  /** edgecore's data directory; the agent uses `<dataDir>/agent/`. */
  dataDir: string;
  nodeName: string;
  logger: Logger;
  /** Static pod manifests (embedded mode). */
  podsDir?: string;
  /** Default runtime for pods without `runtimeClassName`; `auto` = containerd when reachable. */
  runtime: 'containerd' | 'process' | 'auto';
  /** containerd's socket (default /run/containerd/containerd.sock). */
  containerdAddress?: string;
  /** Timeout of each CRI call (default 30 s; image-less calls are quick). */
  containerdTimeoutMs?: number;
  /** How often each pod is reconciled (default 1000 ms). */
  syncIntervalMs?: number;
  /** How often the pods directory is rescanned besides fs.watch events (default 2000 ms). */
  podsDirScanMs?: number;
  crashBackoff?: CrashBackoffOptions;
  /** IP reported as hostIP/podIP (default: the first non-internal IPv4, else 127.0.0.1). */
  nodeIP?: string;
}

export interface PodView {
  key: string;
  namespace: string;
  name: string;
  source: PodSource;
  runtime: RuntimeName;
  pod: Pod;
  status: PodStatus;
}

export interface PodAgentEvents {
  /** A pod's status changed (phase, readiness, container states, restart counts). */
  podStatus: (ev: { key: string; namespace: string; name: string; source: PodSource; status: PodStatus }) => void;
  /** A pod was deleted and its containers removed. */
  podDeleted: (ev: { key: string; namespace: string; name: string; source: PodSource }) => void;
  /** A manifest or cloud pod was refused (the error names the file or pod, the field and the reason). */
  podRejected: (ev: { source: PodSource; error: EdgeTwinError }) => void;
}

export interface ApplyResult {
  applied: string[];
  deleted: string[];
  rejected: { key: string; error: EdgeTwinError }[];
}

function specHash(pod: Pod): string {
  return createHash('sha256')
    .update(JSON.stringify(pod.spec))
    .update(pod.metadata.uid ?? '')
    .digest('hex');
}

function firstIPv4(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export class PodAgent {
  private readonly events = new EventEmitter();
  private readonly paths: AgentPaths;
  private readonly log: Logger;
  private store: AgentStore | undefined;
  private readonly workers = new Map<string, PodWorker>();
  private runtimes: RuntimeSet | undefined;
  private staticSource: StaticPodSource | undefined;
  private readonly nodeIP: string;

  constructor(private readonly opts: PodAgentOptions) {
    this.paths = agentPaths(opts.dataDir);
    this.log = opts.logger.child({ module: 'pod-agent' });
    this.nodeIP = opts.nodeIP ?? firstIPv4();
  }

  on<K extends keyof PodAgentEvents>(event: K, listener: PodAgentEvents[K]): () => void {
    this.events.on(event, listener);
    return () => this.events.off(event, listener);
  }

  private emit<K extends keyof PodAgentEvents>(event: K, ...args: Parameters<PodAgentEvents[K]>): void {
    this.events.emit(event, ...args);
  }

  /** The IP pods report as hostIP/podIP (the node's address, also sent to the cloud). */
  get hostIP(): string {
    return this.nodeIP;
  }

  /** The runtime pods without runtimeClassName use (known after start). */
  get runtimeName(): RuntimeName {
    return this.runtimes?.defaultRuntime() ?? 'process';
  }

  async start(): Promise<void> {
    for (const dir of [this.paths.root, this.paths.logs, this.paths.volumes]) mkdirSync(dir, { recursive: true });
    this.store = new AgentStore(this.paths.db);
    this.runtimes = new RuntimeSet({
      mode: this.opts.runtime,
      processRoot: this.paths.process,
      containerdAddress: this.opts.containerdAddress ?? DEFAULT_CONTAINERD_ADDRESS,
      containerdTimeoutMs: this.opts.containerdTimeoutMs ?? 30_000,
      logger: this.log,
    });
    try {
      await this.runtimes.start();
    } catch (err) {
      await this.runtimes.stop();
      this.runtimes = undefined;
      this.store.close();
      this.store = undefined;
      throw err;
    }
    const pods = this.store.pods();
    this.log.info({ pods: pods.length, runtime: this.runtimeName }, 'pod agent starting; adopting stored pods');
    for (const p of pods) this.startWorker(p);
    if (this.opts.podsDir) {
      this.staticSource = new StaticPodSource(
        this.opts.podsDir,
        this.opts.podsDirScanMs ?? 2000,
        (set) => this.applyStatic(set),
        (error) => {
          this.log.error({ err: error.message, details: error.details }, 'pod manifest refused');
          this.emit('podRejected', { source: 'static', error });
        },
      );
      await this.staticSource.start();
    }
  }

  /**
   * Stops reconciling. Pods keep running (offline autonomy): a later start() adopts them.
   * With `deletePods`, every pod is deleted first (their grace periods apply).
   */
  async stop(opts: { deletePods?: boolean } = {}): Promise<void> {
    this.staticSource?.stop();
    this.staticSource = undefined;
    if (opts.deletePods) {
      const workers = [...this.workers.values()];
      const graces = workers.map((w) => (w.pod.spec.terminationGracePeriodSeconds ?? 30) * 1000);
      // A pod whose runtime is gone cannot be cleaned up; do not wait for it forever.
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, ...graces) + 30_000)));
      await Promise.race([Promise.all(workers.map((w, i) => w.delete(graces[i] ?? 30_000))), limit]);
      clearTimeout(timer);
    }
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    this.workers.clear();
    await this.runtimes?.stop();
    this.runtimes = undefined;
    this.store?.close();
    this.store = undefined;
  }

  private requireStore(): AgentStore {
    if (!this.store) throw new EdgeTwinError('ET_UNAVAILABLE', 'the pod agent is not started; call start() first');
    return this.store;
  }

  private startWorker(record: StoredPod): PodWorker {
    const store = this.requireStore();
    const deps: WorkerDeps = {
      runtime: () => this.runtimes?.get(record.runtime),
      runtimeProblem: () => this.runtimes?.problem(record.runtime) ?? 'the pod agent is stopped',
      onRuntimeUnavailable: (err) => this.runtimes?.reportUnavailable(err),
      store,
      logger: this.log,
      logsRoot: this.paths.logs,
      volumesRoot: this.paths.volumes,
      configMaps: (ns, name) => this.store?.configMap(`${ns}/${name}`),
      backoff: {
        initialMs: this.opts.crashBackoff?.initialMs ?? 10_000,
        maxMs: this.opts.crashBackoff?.maxMs ?? 300_000,
        resetAfterMs: this.opts.crashBackoff?.resetAfterMs ?? 600_000,
      },
      syncIntervalMs: this.opts.syncIntervalMs ?? 1000,
      nodeIP: this.nodeIP,
      onStatus: (key, status) => this.emit('podStatus', { key, ...splitKey(key), source: record.source, status }),
      onDeleted: (key) => {
        if (this.workers.get(key) === worker) this.workers.delete(key);
        this.emit('podDeleted', { key, ...splitKey(key), source: record.source });
      },
    };
    const worker = new PodWorker(record, deps);
    this.workers.set(record.key, worker);
    worker.start();
    return worker;
  }

  /** Creates or replaces one pod; refuses pods this node cannot run. */
  private async upsert(source: PodSource, pod: Pod): Promise<'unchanged' | 'created' | 'replaced'> {
    const key = podKey(pod);
    const runtime: RuntimeName = pod.spec.runtimeClassName ?? this.runtimeName;
    const bound = pod.spec.nodeName;
    if (bound !== undefined && bound !== this.opts.nodeName) {
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `Pod ${key} is bound to node "${bound}", not to this node "${this.opts.nodeName}"; remove spec.nodeName or fix it`,
        { details: { path: '/spec/nodeName' } },
      );
    }
    if (runtime === 'containerd' && pod.spec.hostNetwork !== true) {
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `Pod ${key}: the containerd runtime here has no pod network (no CNI); set spec.hostNetwork: true`,
        { details: { path: '/spec/hostNetwork' } },
      );
    }
    const hash = specHash(pod);
    const existing = this.workers.get(key);
    if (existing && existing.stored.specHash === hash && existing.stored.deletingGraceMs === undefined)
      return 'unchanged';
    if (existing) {
      this.log.info({ pod: key }, 'pod spec changed; recreating the pod');
      await existing.delete((existing.pod.spec.terminationGracePeriodSeconds ?? 30) * 1000);
    }
    this.startWorker({
      key,
      source,
      runtime,
      pod,
      specHash: hash,
      sandboxId: undefined,
      deletingGraceMs: undefined,
      status: undefined,
    });
    return existing ? 'replaced' : 'created';
  }

  private async applyStatic(set: ManifestSet): Promise<void> {
    const store = this.requireStore();
    for (const cm of set.configMaps) store.saveConfigMap(podKey(cm), cm.data);
    const wanted = new Set<string>();
    for (const pod of set.pods) {
      wanted.add(podKey(pod));
      try {
        await this.upsert('static', pod);
      } catch (err) {
        if (!(err instanceof EdgeTwinError)) throw err;
        this.emit('podRejected', { source: 'static', error: err });
      }
    }
    const gone = [...this.workers.values()].filter((w) => {
      if (w.stored.source !== 'static' || wanted.has(w.key)) return false;
      const file = w.pod.metadata.annotations?.[MANIFEST_FILE_ANNOTATION];
      return !(file && set.failedFiles.has(file));
    });
    await Promise.all(gone.map((w) => w.delete((w.pod.spec.terminationGracePeriodSeconds ?? 30) * 1000)));
  }

  /**
   * Pods from the cloud (Kubernetes pods bound to this node). Each is validated; refused ones are
   * in `rejected` with the reason (and a `podRejected` event). A pod with
   * `metadata.deletionTimestamp` is deleted with its `deletionGracePeriodSeconds`. With `replace`,
   * cloud pods not in the list are deleted (a full resync after reconnecting).
   */
  async applyPods(pods: readonly unknown[], opts: { replace?: boolean } = {}): Promise<ApplyResult> {
    this.requireStore();
    const result: ApplyResult = { applied: [], deleted: [], rejected: [] };
    const seen = new Set<string>();
    const deletions: Promise<void>[] = [];
    for (const raw of pods) {
      let pod: Pod;
      try {
        pod = parsePod(raw, 'cloud');
      } catch (err) {
        if (!(err instanceof EdgeTwinError)) throw err;
        const m = (raw as { metadata?: { name?: string; namespace?: string } }).metadata;
        result.rejected.push({ key: `${m?.namespace ?? DEFAULT_NAMESPACE}/${m?.name ?? '?'}`, error: err });
        this.emit('podRejected', { source: 'cloud', error: err });
        continue;
      }
      const key = podKey(pod);
      seen.add(key);
      if (pod.metadata.deletionTimestamp) {
        const w = this.workers.get(key);
        if (w)
          deletions.push(
            w.delete((pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30) * 1000),
          );
        result.deleted.push(key);
        continue;
      }
      try {
        await this.upsert('cloud', pod);
        result.applied.push(key);
      } catch (err) {
        if (!(err instanceof EdgeTwinError)) throw err;
        result.rejected.push({ key, error: err });
        this.emit('podRejected', { source: 'cloud', error: err });
      }
    }
    if (opts.replace) {
      for (const w of this.workers.values()) {
        if (w.stored.source === 'cloud' && !seen.has(w.key)) {
          deletions.push(w.delete((w.pod.spec.terminationGracePeriodSeconds ?? 30) * 1000));
          result.deleted.push(w.key);
        }
      }
    }
    await Promise.all(deletions);
    return result;
  }

  /** ConfigMaps that configMap volumes read (from the cloud; static ones come from the pods dir). */
  applyConfigMaps(configMaps: readonly unknown[]): void {
    const store = this.requireStore();
    for (const raw of configMaps) {
      const cm: ConfigMap = parseConfigMap(raw, 'cloud');
      store.saveConfigMap(podKey(cm), cm.data);
    }
  }

  /** Deletes a pod: SIGTERM, `gracePeriodSeconds` (default: the pod's), then SIGKILL. */
  async deletePod(namespace: string, name: string, opts: { gracePeriodSeconds?: number } = {}): Promise<boolean> {
    const w = this.workers.get(`${namespace}/${name}`);
    if (!w) return false;
    await w.delete((opts.gracePeriodSeconds ?? w.pod.spec.terminationGracePeriodSeconds ?? 30) * 1000);
    return true;
  }

  listPods(): PodView[] {
    return [...this.workers.values()].map((w) => ({
      key: w.key,
      ...splitKey(w.key),
      source: w.stored.source,
      runtime: w.stored.runtime,
      pod: w.pod,
      status: w.status(),
    }));
  }

  podStatus(namespace: string, name: string): PodStatus | undefined {
    return this.workers.get(`${namespace}/${name}`)?.status();
  }
}

function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
