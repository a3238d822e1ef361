/** The twin service's metrics: commits, their latency and size, queue depth, devices. */
import type { Counter, Histogram, MetricsRegistry } from '../metrics.js';
import type { CommitBatch } from './commit-batch.js';

export class TwinMetrics {
  private readonly committed: Counter;
  private readonly commits: Counter;
  private readonly commitErrors: Counter;
  private readonly commitSeconds: Histogram;
  private readonly batchSize: Histogram;

  constructor(reg: MetricsRegistry, queueDepth: () => number, devices: () => number) {
    this.committed = reg.counter('edgetwin_twin_updates_committed_total', 'Twin updates committed to SQLite, by kind.');
    this.commits = reg.counter('edgetwin_twin_commits_total', 'SQLite transactions committed by the twin.');
    this.commitErrors = reg.counter('edgetwin_twin_commit_errors_total', 'Twin transactions that failed to commit.');
    this.commitSeconds = reg.histogram('edgetwin_twin_commit_seconds', 'Time to commit one batch of twin updates.');
    this.batchSize = reg.histogram(
      'edgetwin_twin_commit_batch_size',
      'Updates per committed batch.',
      [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
    );
    reg.gauge('edgetwin_twin_queue_depth', 'Twin updates waiting for their commit.', queueDepth);
    reg.gauge('edgetwin_twin_devices', 'Devices on this node.', devices);
  }

  committedBatch(b: CommitBatch, seconds: number): void {
    this.commitSeconds.observe(seconds);
    this.commits.inc();
    this.batchSize.observe(b.size);
    for (const k of ['desired', 'reported', 'state'] as const) {
      if (b.updates[k] > 0) this.committed.inc({ kind: k }, b.updates[k]);
    }
  }

  failedBatch(): void {
    this.commitErrors.inc();
  }
}
