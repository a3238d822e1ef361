/**
 * Writes the pod status edges report into `pods/status` with JSON merge patches, coalesced per
 * pod like device status: at most one patch per pod per `intervalMs`, the latest status wins.
 * Each patch names the pod's uid, so a status never lands on a newer pod of the same name (the
 * API server answers 409, and the stale status is dropped). API errors are retried with backoff.
 */
import { errorMessage } from '@edgetwin/sdk';
import { CoalescingPatcher } from './coalescing-patcher.js';
import { KubeApiError, type KubeClient } from './kube-client.js';
import type { Logger } from 'pino';

interface PodStatus {
  uid: string | undefined;
  status: unknown;
}

export function podPath(key: string, sub = ''): string {
  const i = key.indexOf('/');
  const ns = encodeURIComponent(key.slice(0, i));
  return `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(key.slice(i + 1))}${sub}`;
}

export class PodStatusWriter {
  private readonly patcher: CoalescingPatcher<PodStatus>;
  /** Patches sent and patches refused because the pod was replaced (for metrics and tests). */
  patches = 0;
  stale = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    intervalMs = 1000,
  ) {
    this.patcher = new CoalescingPatcher<PodStatus>({
      name: 'pod status writer',
      intervalMs,
      backoff: { initialMs: 200, maxMs: 5000 },
      // A different uid is a new pod: the older pod's status no longer matters.
      supersedes: (waiting, newer) => waiting.uid !== newer.uid,
      patch: (key, p) => {
        this.patches++;
        return this.client.call('PATCH', podPath(key, '/status'), {
          ...(p.uid ? { metadata: { uid: p.uid } } : {}),
          status: p.status,
        });
      },
      onError: (key, err) => {
        // Gone, or replaced by a pod with another uid: this status describes nothing any more.
        if (err instanceof KubeApiError && (err.status === 404 || err.status === 409)) {
          if (err.status === 409) this.stale++;
          return 'drop';
        }
        this.log.warn({ pod: key, err: errorMessage(err) }, 'pod status patch failed; retrying');
        return 'retry';
      },
    });
  }

  /** Resolves once Kubernetes holds this status (or a newer one), or the pod is gone. */
  write(key: string, uid: string | undefined, status: unknown): Promise<void> {
    return this.patcher.submit(key, { uid, status });
  }

  stop(): void {
    this.patcher.stop();
  }
}
