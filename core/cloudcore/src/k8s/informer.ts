/**
 * List + watch of one custom resource type, cluster-wide, with a local cache. A watch that ends
 * is resumed from the last resourceVersion (kept fresh by bookmarks); only a 410 Gone (history
 * compacted) makes it list again, and repeated failures back off, so many informers never
 * hammer the API server with relists. A relist is diffed against the cache, so handlers see
 * only real changes.
 */
import { errorMessage } from '@edgetwin/sdk';
import { Backoff, sleep } from '@edgetwin/sdk/util';
import type { Logger } from 'pino';
import { KubeApiError, type KubeClient, type KubeList, type KubeObject, type WatchEvent } from './kube-client.js';

export type InformerEvent<T> = { type: 'add' | 'update' | 'delete'; object: T; old?: T };

export interface InformerStats {
  lists: number;
  watches: number;
  gone: number;
}

export function objectKey(o: KubeObject): string {
  return `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
}

export class Informer<T extends KubeObject> {
  readonly cache = new Map<string, T>();
  readonly stats: InformerStats = { lists: 0, watches: 0, gone: 0 };
  private resourceVersion = '';
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly listeners = new Set<(e: InformerEvent<T>) => void>();
  private syncedResolve!: () => void;
  /** Resolves after the first list has filled the cache. */
  readonly synced = new Promise<void>((r) => (this.syncedResolve = r));

  constructor(
    private readonly client: KubeClient,
    /** e.g. `/apis/devices.kubeedge.io/v1beta1/devices` */
    private readonly path: string,
    private readonly log: Logger,
    private readonly opts: {
      watchTimeoutSeconds?: number;
      /** e.g. `spec.nodeName!=` (sent as `fieldSelector` on every list and watch). */
      fieldSelector?: string;
      labelSelector?: string;
    } = {},
  ) {}

  on(fn: (e: InformerEvent<T>) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
    this.loop = undefined;
  }

  private selectors(): string {
    let q = '';
    if (this.opts.fieldSelector) q += `&fieldSelector=${encodeURIComponent(this.opts.fieldSelector)}`;
    if (this.opts.labelSelector) q += `&labelSelector=${encodeURIComponent(this.opts.labelSelector)}`;
    return q;
  }

  private emit(e: InformerEvent<T>): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        this.log.error({ err: errorMessage(err) }, 'informer handler failed');
      }
    }
  }

  private async list(): Promise<void> {
    this.stats.lists++;
    const items: T[] = [];
    let cont = '';
    let rv = '';
    do {
      const q = `?limit=500${this.selectors()}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`;
      const page = await this.client.call<KubeList<T>>('GET', this.path + q);
      items.push(...page.items);
      rv = page.metadata.resourceVersion;
      cont = page.metadata.continue ?? '';
    } while (cont);
    const seen = new Set<string>();
    for (const o of items) {
      const k = objectKey(o);
      seen.add(k);
      this.put(o);
    }
    for (const [k, o] of [...this.cache]) {
      if (!seen.has(k)) {
        this.cache.delete(k);
        this.emit({ type: 'delete', object: o });
      }
    }
    this.resourceVersion = rv;
  }

  private put(o: T): void {
    const k = objectKey(o);
    const old = this.cache.get(k);
    if (old?.metadata.resourceVersion === o.metadata.resourceVersion) return;
    this.cache.set(k, o);
    this.emit(old ? { type: 'update', object: o, old } : { type: 'add', object: o });
  }

  private onEvent(e: WatchEvent<T>): void {
    if (e.type === 'ERROR') {
      const status = e.object as unknown as { code?: number; message?: string };
      throw new KubeApiError(status.code ?? 500, '', `watch error: ${status.message ?? ''}`);
    }
    const rv = e.object.metadata.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (e.type === 'BOOKMARK') return;
    if (e.type === 'DELETED') {
      const k = objectKey(e.object);
      if (this.cache.delete(k)) this.emit({ type: 'delete', object: e.object });
      return;
    }
    this.put(e.object);
  }

  private async run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.list();
          needList = false;
          this.syncedResolve();
        }
        this.stats.watches++;
        const t = this.opts.watchTimeoutSeconds ?? 240;
        const q = `?watch=1${this.selectors()}&allowWatchBookmarks=true&timeoutSeconds=${t}&resourceVersion=${encodeURIComponent(this.resourceVersion)}`;
        await this.client.watch<T>(this.path + q, (e) => this.onEvent(e), signal);
        backoff.reset();
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof KubeApiError && err.status === 410) {
          this.stats.gone++;
          needList = true;
          this.log.info({ path: this.path }, 'watch expired (410 Gone); listing again');
        } else {
          this.log.warn({ path: this.path, err: errorMessage(err) }, 'list or watch failed; retrying');
        }
        await sleep(backoff.next(), signal).catch(() => undefined);
      }
    }
  }
}
