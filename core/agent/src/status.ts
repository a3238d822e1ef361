/**
 * Pod status in the shape of Kubernetes' core/v1 PodStatus, so the cloud side can patch it to
 * the API server unchanged: phase, conditions, container states and restart counts.
 */
export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface ContainerStateView {
  waiting?: { reason: string; message?: string };
  running?: { startedAt: string };
  terminated?: { exitCode: number; reason: string; message?: string; startedAt?: string; finishedAt?: string };
}

export interface ContainerStatusView {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: ContainerStateView;
  lastState: ContainerStateView;
}

export interface PodCondition {
  type: 'PodScheduled' | 'Initialized' | 'ContainersReady' | 'Ready';
  status: 'True' | 'False';
  lastTransitionTime: string;
  reason?: string;
}

export interface PodStatus {
  phase: PodPhase;
  conditions: PodCondition[];
  containerStatuses: ContainerStatusView[];
  hostIP?: string;
  podIP?: string;
  startTime?: string;
  /** Why the pod cannot run, when it cannot (e.g. a refused volume). */
  message?: string;
  reason?: string;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Phase from container states, as the kubelet computes it. */
export function podPhase(
  statuses: readonly ContainerStatusView[],
  restartPolicy: 'Always' | 'OnFailure' | 'Never',
): PodPhase {
  let running = 0;
  let waiting = 0;
  let succeeded = 0;
  let failed = 0;
  for (const s of statuses) {
    if (s.state.running) running++;
    else if (s.state.terminated) {
      if (s.state.terminated.exitCode === 0) succeeded++;
      else failed++;
    } else if (s.state.waiting) {
      // A container waiting to restart after having run counts as running for the phase.
      if (s.lastState.terminated) running++;
      else waiting++;
    }
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (restartPolicy === 'Always') return 'Running';
  if (failed > 0) return 'Failed';
  if (succeeded > 0) return 'Succeeded';
  return 'Pending';
}

/** Builds conditions, keeping the previous transition time when a condition did not change. */
export function podConditions(
  allReady: boolean,
  previous: readonly PodCondition[] | undefined,
  now: number,
): PodCondition[] {
  const want: [PodCondition['type'], boolean][] = [
    ['PodScheduled', true],
    ['Initialized', true],
    ['ContainersReady', allReady],
    ['Ready', allReady],
  ];
  return want.map(([type, ok]) => {
    const status = ok ? 'True' : 'False';
    const prev = previous?.find((c) => c.type === type);
    const lastTransitionTime = prev && prev.status === status ? prev.lastTransitionTime : iso(now);
    return {
      type,
      status,
      lastTransitionTime,
      ...(ok || type === 'PodScheduled' ? {} : { reason: 'ContainersNotReady' }),
    };
  });
}
