/**
 * A small Kubernetes REST client for custom resources: list, watch (streamed JSON lines), get and
 * merge patch (object or status subresource). It takes its server, credentials and TLS settings
 * from a kubeconfig through @kubernetes/client-node, and gives every request a timeout or an
 * AbortSignal. Errors carry the HTTP status so callers can tell a 409 or a 410 from the rest.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { EdgeTwinError } from '@edgetwin/sdk';

export class KubeApiError extends EdgeTwinError {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(status === 409 ? 'ET_PRECONDITION' : 'ET_UNAVAILABLE', message, { details: { status, reason } });
  }
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface KubeList<T> {
  items: T[];
  metadata: { resourceVersion: string; continue?: string };
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** Loads a kubeconfig file (or the default locations when `file` is undefined). */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) {
    throw new EdgeTwinError(
      'ET_CONFIG_INVALID',
      `kubeconfig ${file ?? '(default)'} has no current cluster; pass --kubeconfig FILE`,
      {
        details: file ? { file } : {},
      },
    );
  }
  return kc;
}

export class KubeClient {
  private readonly server: URL;
  constructor(
    private readonly kc: KubeConfig,
    private readonly timeoutMs = 15_000,
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new EdgeTwinError('ET_CONFIG_INVALID', 'kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
  }

  private async open(
    method: string,
    path: string,
    body: unknown,
    contentType: string,
    signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    const opts: RequestOptions & { headers: Record<string, string> } = {
      method,
      headers: { Accept: 'application/json' },
    };
    await this.kc.applyToHTTPSOptions(opts);
    const url = new URL(path, this.server);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) {
      opts.headers['Content-Type'] = contentType;
      // Node sends a DELETE body without Content-Length or chunking unless told: say its length.
      opts.headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      ...opts,
      ...(signal ? { signal } : {}),
    });
    return new Promise((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', (err) =>
        reject(
          new EdgeTwinError('ET_UNAVAILABLE', `Kubernetes API ${url.host} unreachable: ${err.message}`, { cause: err }),
        ),
      );
      req.end(payload);
    });
  }

  /** One request with a JSON answer; rejects with KubeApiError on a non-2xx status. */
  /** PATCH bodies are JSON merge patches unless `contentType` says otherwise. */
  async call<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
  ): Promise<T> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    const res = await this.open(method, path, body, contentType, signal);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      let reason = '';
      let message = text.slice(0, 300);
      try {
        const s = JSON.parse(text) as { reason?: string; message?: string };
        reason = s.reason ?? '';
        message = s.message ?? message;
      } catch {
        /* not a Status object */
      }
      throw new KubeApiError(status, reason, `Kubernetes API ${method} ${path}: ${status} ${message}`);
    }
    return JSON.parse(text) as T;
  }

  /**
   * Streams a watch; calls `onEvent` per event and resolves when the server ends the stream.
   * Rejects on network errors; aborting `signal` ends it quietly.
   */
  async watch<T>(
    path: string,
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
    /** A watch that sends nothing (not even a bookmark) for this long is dropped as dead. */
    idleMs = 300_000,
  ): Promise<void> {
    let res: IncomingMessage;
    try {
      res = await this.open('GET', path, undefined, '', signal);
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
    if ((res.statusCode ?? 0) !== 200) {
      res.resume();
      throw new KubeApiError(res.statusCode ?? 0, '', `Kubernetes API watch ${path}: status ${res.statusCode}`);
    }
    const idle = setTimeout(
      () =>
        res.destroy(new EdgeTwinError('ET_TIMEOUT', `Kubernetes watch ${path} silent for ${idleMs} ms; reconnecting`)),
      idleMs,
    );
    let buf = '';
    try {
      for await (const chunk of res) {
        idle.refresh();
        buf += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof EdgeTwinError) throw err;
      throw new EdgeTwinError('ET_UNAVAILABLE', `Kubernetes watch ${path} broke: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      clearTimeout(idle);
    }
  }
}
