/**
 * Runs one pod: makes the runtime match the spec on every sync (sandbox, then each container),
 * restarts crashed containers with CrashLoopBackOff delays, runs probes, reports status, and
 * deletes the pod with a grace period. All it knows is saved in the store, so a new worker for the
 * same pod after an agent restart picks up the running containers.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_NAMESPACE, EdgeTwinError, errorMessage, isEdgeTwinError } from '@edgetwin/sdk';
import type { Logger } from 'pino';
import { ContainerSlot, type CrashBackoffOptions } from './container-slot.js';
import type { Pod } from './pod-schema.js';
import { runProbe, ProbeState } from './probes.js';
import type { ContainerRuntime, ContainerSpec, SandboxSpec } from './runtime/types.js';
import { podConditions, podPhase, iso, type PodStatus } from './status.js';
import type { AgentStore, StoredPod } from './store.js';
import {
  containerMounts,
  cpuMilli,
  memoryBytes,
  prepareVolumes,
  removePodVolumes,
  type ConfigMapLookup,
} from './volumes.js';

export interface WorkerDeps {
  /** The pod's runtime, undefined while it is not available. */
  runtime(): ContainerRuntime | undefined;
  /** Why `runtime()` is undefined (shown in the pod status). */
  runtimeProblem(): string;
  /** A runtime call failed with ET_UNAVAILABLE (containerd went away). */
  onRuntimeUnavailable(err: unknown): void;
  store: AgentStore;
  logger: Logger;
  logsRoot: string;
  volumesRoot: string;
  configMaps: ConfigMapLookup;
  backoff: Required<CrashBackoffOptions>;
  syncIntervalMs: number;
  nodeIP: string;
  onStatus(key: string, status: PodStatus): void;
  onDeleted(key: string): void;
}

export class PodWorker {
  readonly key: string;
  private record: StoredPod;
  private readonly slots: ContainerSlot[];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private lastStatusJson = '';
  private podProblem: { reason: string; message: string } | undefined;
  private readonly log: Logger;
  private startTime: number;
  /** Resolves when the pod is gone after a delete. */
  private deleted: { promise: Promise<void>; resolve: () => void };

  constructor(
    record: StoredPod,
    private readonly deps: WorkerDeps,
  ) {
    this.key = record.key;
    this.record = record;
    const stored = new Map(deps.store.containers(record.key).map((c) => [c.name, c]));
    this.slots = record.pod.spec.containers.map((c) => new ContainerSlot(c, stored.get(c.name)));
    this.log = deps.logger.child({ pod: record.key });
    this.startTime = record.status?.startTime ? Date.parse(record.status.startTime) : Date.now();
    let resolve = (): void => undefined;
    const promise = new Promise<void>((r) => (resolve = r));
    this.deleted = { promise, resolve };
  }

  get pod(): Pod {
    return this.record.pod;
  }
  get stored(): StoredPod {
    return this.record;
  }

  start(): void {
    this.stopped = false;
    this.kick();
  }

  /** Stops syncing and probing; the pod's containers keep running. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const s of this.slots) s.clearProbes();
    await this.running;
  }

  /** Asks for the pod to be deleted; resolves once its containers are stopped and removed. */
  delete(graceMs: number): Promise<void> {
    this.record = { ...this.record, deletingGraceMs: graceMs };
    this.deps.store.savePod(this.record);
    this.kick();
    return this.deleted.promise;
  }

  /** Runs a sync now (or right after the one in progress). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.sync()
      .catch((err: unknown) => this.syncFailed(err))
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.kick();
        } else {
          this.timer = setTimeout(() => this.kick(), this.deps.syncIntervalMs);
        }
      });
  }

  private syncFailed(err: unknown): void {
    if (isEdgeTwinError(err, 'ET_UNAVAILABLE')) this.deps.onRuntimeUnavailable(err);
    this.log.warn({ err: errorMessage(err) }, 'pod sync failed; retrying');
    this.podProblem = { reason: 'RuntimeError', message: errorMessage(err) };
    this.publish();
  }

  status(): PodStatus {
    const statuses = this.slots.map((s) => s.statusView());
    const allReady = statuses.every((s) => s.ready);
    const prev = this.record.status;
    return {
      phase: podPhase(statuses, this.pod.spec.restartPolicy ?? 'Always'),
      conditions: podConditions(allReady, prev?.conditions, Date.now()),
      containerStatuses: statuses,
      hostIP: this.deps.nodeIP,
      podIP: this.deps.nodeIP,
      startTime: iso(this.startTime),
      ...(this.podProblem ? this.podProblem : {}),
    };
  }

  private publish(): void {
    const status = this.status();
    const json = JSON.stringify({ ...status, conditions: status.conditions.map((c) => [c.type, c.status]) });
    if (json === this.lastStatusJson) return;
    this.lastStatusJson = json;
    this.record = { ...this.record, status };
    this.deps.store.savePod(this.record);
    this.deps.onStatus(this.key, status);
  }

  private sandboxSpec(): SandboxSpec {
    const ns = this.pod.metadata.namespace ?? DEFAULT_NAMESPACE;
    const uid = this.pod.metadata.uid ?? this.record.specHash.slice(0, 16);
    return {
      podKey: this.key,
      namespace: ns,
      name: this.pod.metadata.name,
      uid,
      logDir: join(this.deps.logsRoot, `${ns}_${this.pod.metadata.name}_${uid}`),
      hostNetwork: this.pod.spec.hostNetwork ?? false,
      labels: { 'io.edgetwin.pod': this.key.replace('/', '.') },
    };
  }

  private async sync(): Promise<void> {
    const rt = this.deps.runtime();
    const inRuntime = this.record.sandboxId !== undefined || this.slots.some((sl) => sl.id !== undefined);
    if (this.record.deletingGraceMs !== undefined && !inRuntime) {
      this.finishDelete();
      return;
    }
    if (!rt) {
      this.podProblem = { reason: 'RuntimeUnavailable', message: this.deps.runtimeProblem() };
      this.publish();
      return;
    }
    if (this.record.deletingGraceMs !== undefined) {
      await this.teardown(rt, this.record.deletingGraceMs);
      return;
    }
    this.podProblem = undefined;
    const sandbox = this.sandboxSpec();
    if (!this.record.sandboxId || !(await rt.sandboxAlive(this.record.sandboxId))) {
      if (this.record.sandboxId) {
        this.log.warn({ sandbox: this.record.sandboxId }, 'pod sandbox is gone; creating a new one');
        await rt.removeSandbox(this.record.sandboxId).catch(() => undefined);
      }
      mkdirSync(sandbox.logDir, { recursive: true });
      try {
        const sandboxId = await rt.runSandbox(sandbox);
        this.record = { ...this.record, sandboxId };
        this.deps.store.savePod(this.record);
      } catch (err) {
        this.podProblem = { reason: 'SandboxCreateFailed', message: errorMessage(err) };
        this.publish();
        return;
      }
    }
    const sandboxId = this.record.sandboxId;
    if (!sandboxId) return;
    for (const slot of this.slots) {
      await this.syncContainer(rt, sandboxId, sandbox, slot);
      this.deps.store.saveContainer(slot.toStored(this.key));
    }
    this.publish();
  }

  private async syncContainer(
    rt: ContainerRuntime,
    sandboxId: string,
    sandbox: SandboxSpec,
    slot: ContainerSlot,
  ): Promise<void> {
    if (slot.id) {
      const info = await rt.containerInfo(slot.id);
      if (info.state === 'running' || info.state === 'created' || info.state === 'unknown') {
        if (info.state === 'created') await rt.startContainer(slot.id);
        slot.view = { running: { startedAt: iso(info.startedAt ?? Date.now()) } };
        this.ensureProbes(rt, slot, info.startedAt ?? Date.now());
        return;
      }
      // Exited or gone: record it and decide on a restart.
      slot.clearProbes();
      const exited = info.state === 'missing' ? { ...info, exitCode: 137, reason: 'ContainerMissing' } : info;
      const view = slot.terminatedView(exited);
      slot.lastTerminated = view;
      slot.killReason = undefined;
      const oldId = slot.id;
      slot.id = undefined;
      await rt.removeContainer(oldId).catch((err: unknown) => this.log.warn({ err }, 'could not remove container'));
      const code = view.terminated?.exitCode ?? 137;
      if (!slot.shouldRestart(this.pod.spec.restartPolicy ?? 'Always', code)) {
        slot.done = true;
        slot.view = view;
        this.log.info({ container: slot.name, exitCode: code }, 'container exited; restart policy keeps it down');
        return;
      }
      const ran = (exited.finishedAt ?? Date.now()) - (exited.startedAt ?? Date.now());
      const delay = slot.nextBackoff(ran, this.deps.backoff);
      slot.backoffUntil = Date.now() + delay;
      slot.restartCount++;
      if (delay > 0) {
        const wait = `${Math.round(delay / 100) / 10}s`;
        slot.view = {
          waiting: { reason: 'CrashLoopBackOff', message: `back-off ${wait} restarting failed container=${slot.name}` },
        };
      }
      this.log.info({ container: slot.name, exitCode: code, delayMs: delay }, 'container exited; restarting');
    }
    if (slot.done) return;
    // Waiting out a delay: the view keeps saying why (CrashLoopBackOff or the create error).
    if (Date.now() < slot.backoffUntil) return;
    await this.createAndStart(rt, sandboxId, sandbox, slot);
  }

  private async createAndStart(
    rt: ContainerRuntime,
    sandboxId: string,
    sandbox: SandboxSpec,
    slot: ContainerSlot,
  ): Promise<void> {
    let spec: ContainerSpec;
    try {
      spec = this.containerSpec(slot, sandbox);
    } catch (err) {
      slot.view = { waiting: { reason: 'CreateContainerConfigError', message: errorMessage(err) } };
      slot.backoffUntil = Date.now() + slot.nextBackoff(0, this.deps.backoff);
      return;
    }
    try {
      mkdirSync(join(sandbox.logDir, slot.name), { recursive: true });
      const id = await rt.createContainer(sandboxId, sandbox, spec);
      slot.id = id;
      slot.logPath = spec.logPath;
      this.deps.store.saveContainer(slot.toStored(this.key));
      await rt.startContainer(id);
      slot.view = { running: { startedAt: iso(Date.now()) } };
      this.ensureProbes(rt, slot, Date.now());
      this.log.info({ container: slot.name, id, attempt: spec.attempt }, 'container started');
    } catch (err) {
      const detail = err instanceof EdgeTwinError ? err.details.reason : undefined;
      const reason =
        typeof detail === 'string'
          ? detail
          : err instanceof EdgeTwinError && err.code === 'ET_CONFIG_INVALID'
            ? 'CreateContainerConfigError'
            : 'CreateContainerError';
      slot.view = { waiting: { reason, message: errorMessage(err) } };
      slot.backoffUntil = Date.now() + slot.nextBackoff(0, this.deps.backoff);
      this.log.warn({ container: slot.name, err: errorMessage(err) }, 'could not start container');
    }
  }

  private containerSpec(slot: ContainerSlot, sandbox: SandboxSpec): ContainerSpec {
    const c = slot.spec;
    const volumes = prepareVolumes(this.pod, this.key, this.deps.volumesRoot, this.deps.configMaps);
    const mem = memoryBytes(c.resources?.limits?.memory);
    const cpu = cpuMilli(c.resources?.limits?.cpu);
    return {
      podKey: this.key,
      name: c.name,
      image: c.image,
      ...(c.command ? { command: c.command } : {}),
      ...(c.args ? { args: c.args } : {}),
      env: (c.env ?? []).map((e) => ({ name: e.name, value: e.value ?? '' })),
      ...(c.workingDir ? { workingDir: c.workingDir } : {}),
      mounts: containerMounts(c, volumes),
      ...(mem !== undefined ? { memoryLimitBytes: mem } : {}),
      ...(cpu !== undefined ? { cpuLimitMilli: cpu } : {}),
      attempt: slot.restartCount,
      logPath: join(sandbox.logDir, c.name, `${slot.restartCount}.log`),
    };
  }

  private ensureProbes(rt: ContainerRuntime, slot: ContainerSlot, startedAt: number): void {
    const id = slot.id;
    if (!id || slot.probedId === id) return;
    slot.clearProbes();
    slot.probedId = id;
    const target = { runtime: rt, containerId: id, container: slot.spec, host: '127.0.0.1' };
    const schedule = (state: ProbeState, kind: 'liveness' | 'readiness') => {
      const p = state.probe;
      const first = Math.max(0, startedAt + p.initialDelaySeconds * 1000 - Date.now());
      const tick = async () => {
        if (this.stopped || slot.id !== id) return;
        const result = await runProbe(p, target);
        if (this.stopped || slot.id !== id) return;
        const changed = state.record(result);
        if (kind === 'liveness' && changed && !state.healthy) {
          slot.killReason = `liveness probe failed: ${result.message}`;
          this.log.info({ container: slot.name, reason: result.message }, 'liveness probe failed; killing container');
          await rt.stopContainer(id, this.graceMs()).catch(() => undefined);
          this.kick();
          return;
        }
        if (changed) this.publish();
        slot.probeTimers.push(setTimeout(() => void tick(), p.periodSeconds * 1000));
      };
      slot.probeTimers.push(setTimeout(() => void tick(), first));
    };
    if (slot.spec.livenessProbe) {
      slot.liveness = new ProbeState(slot.spec.livenessProbe, true);
      schedule(slot.liveness, 'liveness');
    }
    if (slot.spec.readinessProbe) {
      slot.readiness = new ProbeState(slot.spec.readinessProbe, false);
      schedule(slot.readiness, 'readiness');
    }
  }

  private graceMs(): number {
    return (this.pod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
  }

  private async teardown(rt: ContainerRuntime, graceMs: number): Promise<void> {
    for (const s of this.slots) s.clearProbes();
    await Promise.all(
      this.slots.map(async (s) => {
        if (!s.id) return;
        await rt.stopContainer(s.id, graceMs);
        await rt.removeContainer(s.id);
      }),
    );
    if (this.record.sandboxId) await rt.removeSandbox(this.record.sandboxId);
    this.finishDelete();
  }

  private finishDelete(): void {
    for (const s of this.slots) s.clearProbes();
    removePodVolumes(this.deps.volumesRoot, this.key);
    this.deps.store.deletePod(this.key);
    this.stopped = true;
    this.log.info('pod deleted');
    this.deps.onDeleted(this.key);
    this.deleted.resolve();
  }
}
