/**
 * Per-key coalescing within one turn of the event loop: keys marked while the current events are
 * handled (informer events, hub messages) are handled once each, right after them
 * (`setImmediate`), however often they were marked. NodeSync and PodRelay use it to recompute a
 * node's set once per burst of changes. Rate-limited, retried writes to Kubernetes use
 * `CoalescingPatcher` (k8s/coalescing-patcher.ts) instead; this one does no I/O of its own.
 */
export class TickCoalescer {
  private readonly marked = new Set<string>();
  private immediate: NodeJS.Immediate | undefined;

  /** `run` handles one key; a key marked again while `run` runs is handled in the next turn. */
  constructor(private readonly run: (key: string) => void) {}

  mark(key: string): void {
    this.marked.add(key);
    this.immediate ??= setImmediate(() => {
      this.immediate = undefined;
      const keys = [...this.marked];
      this.marked.clear();
      for (const k of keys) this.run(k);
    });
  }

  /** Forgets the marked keys; nothing runs after it. */
  stop(): void {
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.marked.clear();
  }
}
