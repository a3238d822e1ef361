/**
 * One container of a pod, across its restarts: the current runtime id, restart count, the
 * CrashLoopBackOff timer, the probes and the state view shown in the pod status.
 */
import type { Container, RestartPolicy } from './pod-schema.js';
import { ProbeState } from './probes.js';
import type { StoredContainer } from './store.js';
import type { ContainerInfo } from './runtime/types.js';
import { iso, type ContainerStateView, type ContainerStatusView } from './status.js';

export interface CrashBackoffOptions {
  /** Delay before the second restart (the first is immediate); default 10 000 ms like the kubelet. */
  initialMs?: number;
  /** Largest delay; default 300 000 ms. */
  maxMs?: number;
  /** A container that ran this long resets its backoff; default 600 000 ms. */
  resetAfterMs?: number;
}

export class ContainerSlot {
  id: string | undefined;
  restartCount: number;
  logPath: string | undefined;
  lastTerminated: ContainerStateView | undefined;
  /** What the status shows now. */
  view: ContainerStateView = { waiting: { reason: 'ContainerCreating' } };
  /** No restart before this time (ms). */
  backoffUntil = 0;
  private crashes = 0;
  /** Set when the agent kills the container (liveness); becomes the terminated message. */
  killReason: string | undefined;
  /** True when the container exited and the restart policy says it stays down. */
  done = false;
  liveness: ProbeState | undefined;
  readiness: ProbeState | undefined;
  /** The container id the probes were set up for. */
  probedId: string | undefined;
  probeTimers: NodeJS.Timeout[] = [];

  constructor(
    readonly spec: Container,
    stored: StoredContainer | undefined,
  ) {
    this.id = stored?.containerId;
    this.restartCount = stored?.restartCount ?? 0;
    this.logPath = stored?.logPath;
    this.lastTerminated = stored?.lastTerminated;
  }

  get name(): string {
    return this.spec.name;
  }

  /** Whether an exited container is started again under the pod's restart policy. */
  shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
    if (policy === 'Always') return true;
    if (policy === 'OnFailure') return exitCode !== 0;
    return false;
  }

  /** Records a crash and returns the delay before the next start (0, initial, 2*initial, ... max). */
  nextBackoff(ranMs: number, opts: Required<CrashBackoffOptions>): number {
    if (ranMs >= opts.resetAfterMs) this.crashes = 0;
    const delay = this.crashes === 0 ? 0 : Math.min(opts.maxMs, opts.initialMs * 2 ** (this.crashes - 1));
    this.crashes++;
    return delay;
  }

  terminatedView(info: ContainerInfo): ContainerStateView {
    const code = info.exitCode ?? 137;
    const message = this.killReason ?? info.message;
    return {
      terminated: {
        exitCode: code,
        reason: info.reason ?? (code === 0 ? 'Completed' : 'Error'),
        ...(message ? { message } : {}),
        ...(info.startedAt ? { startedAt: iso(info.startedAt) } : {}),
        ...(info.finishedAt ? { finishedAt: iso(info.finishedAt) } : {}),
      },
    };
  }

  get ready(): boolean {
    return this.view.running !== undefined && (this.readiness ? this.readiness.healthy : true);
  }

  clearProbes(): void {
    for (const t of this.probeTimers) clearTimeout(t);
    this.probeTimers = [];
    this.probedId = undefined;
    this.liveness = undefined;
    this.readiness = undefined;
  }

  statusView(): ContainerStatusView {
    return {
      name: this.spec.name,
      image: this.spec.image,
      imageID: '',
      ...(this.id ? { containerID: this.id } : {}),
      ready: this.ready,
      started: this.view.running !== undefined,
      restartCount: this.restartCount,
      state: this.view,
      lastState: this.lastTerminated ?? {},
    };
  }

  toStored(podKey: string): StoredContainer {
    return {
      podKey,
      name: this.spec.name,
      containerId: this.id,
      restartCount: this.restartCount,
      logPath: this.logPath,
      lastTerminated: this.lastTerminated,
    };
  }
}
