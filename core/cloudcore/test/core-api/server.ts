/**
 * A faithful simulator of the Kubernetes core API parts cloudcore uses (core/v1 Nodes, Pods,
 * ConfigMaps; coordination.k8s.io/v1 Leases), served in front of the real CRD API server as ONE
 * endpoint: requests under /api/v1 and /apis/coordination.k8s.io go to the simulator, everything
 * else is proxied to the real server with its client certificate. So cloudcore uses one
 * kubeconfig, as in a real cluster.
 *
 * HTTP behaviour: list (`fieldSelector`, `labelSelector`, `limit` + `continue`, list
 * resourceVersion), watch (`watch=1&resourceVersion=`, ADDED/MODIFIED/DELETED, BOOKMARK with
 * `allowWatchBookmarks`, `timeoutSeconds`, an ERROR event with 410 for a compacted
 * resourceVersion; objects leaving a field selector come as DELETED), get, create, update (PUT),
 * merge patch on objects and `/status`, delete with DeleteOptions; errors as Status objects.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { ClientRequest } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { freePort } from '@edgetwin/sdk/testing';
import {
  ApiError,
  CoreApiStore,
  RESOURCES,
  fieldSelector,
  labelSelector,
  type Change,
  type Obj,
  type Selector,
} from './store.js';

export interface CoreApiSim {
  kubeconfig: string;
  url: string;
  store: CoreApiStore;
  /** Requests served by the simulator, as `METHOD path?query`. */
  requests: string[];
  /** Compacts the history and ends every open watch with a 410 Gone ERROR event. */
  expireWatches(): void;
  stop(): Promise<void>;
}

interface Route {
  plural: string;
  ns: string | undefined;
  name: string | undefined;
  sub: 'status' | undefined;
}

const CORE = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?([a-z]+)(?:\/([^/]+))?(?:\/(status))?$/;
const COORD = /^\/apis\/coordination\.k8s\.io\/v1\/(?:namespaces\/([^/]+)\/)?(leases)(?:\/([^/]+))?$/;

function route(path: string): Route | undefined {
  const m = CORE.exec(path) ?? COORD.exec(path);
  if (!m) return undefined;
  return {
    ns: m[1] ? decodeURIComponent(m[1]) : undefined,
    plural: m[2]!,
    name: m[3] ? decodeURIComponent(m[3]) : undefined,
    sub: m[4] ? 'status' : undefined,
  };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let raw = '';
  for await (const c of req) raw += (c as Buffer).toString('utf8');
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new ApiError(400, 'BadRequest', 'request body is not JSON');
  }
}

export async function startCoreApiSim(opts: {
  /** kubeconfig of the real (CRD) API server everything else is proxied to (else: 404). */
  upstreamKubeconfig?: string;
  dir: string;
  /** BOOKMARK period of watches (default 2000 ms). */
  bookmarkMs?: number;
}): Promise<CoreApiSim> {
  let upstream: URL | undefined;
  const tls: RequestOptions = {};
  if (opts.upstreamKubeconfig) {
    const kc = new KubeConfig();
    kc.loadFromFile(opts.upstreamKubeconfig);
    upstream = new URL(kc.getCurrentCluster()!.server);
    await kc.applyToHTTPSOptions(tls);
  }
  const store = new CoreApiStore();
  const requests: string[] = [];
  const watches = new Set<ServerResponse>();
  const GONE = (rv: string) => new ApiError(410, 'Expired', `too old resource version: ${rv} (compacted)`).toStatus();
  const upstreams = new Set<ClientRequest>();

  function proxy(req: IncomingMessage, res: ServerResponse): void {
    if (!upstream)
      return send(
        res,
        404,
        new ApiError(404, 'NotFound', 'the server could not find the requested resource').toStatus(),
      );
    const up = httpsRequest(
      new URL(req.url ?? '/', upstream),
      {
        method: req.method,
        headers: { ...req.headers, host: upstream.host },
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
      },
      (ures) => {
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        ures.pipe(res);
      },
    );
    upstreams.add(up);
    up.on('close', () => upstreams.delete(up));
    res.on('close', () => up.destroy());
    up.on('error', () => res.destroy());
    req.pipe(up);
  }

  function watch(r: Route, q: URLSearchParams, select: Selector, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const line = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
    const inScope = (o: Obj) => r.ns === undefined || o.metadata.namespace === r.ns;
    const emit = (c: Change) => {
      if (c.plural !== r.plural || !inScope(c.object)) return;
      const was = c.old !== undefined && select(c.old);
      const is = c.type !== 'DELETED' && select(c.object);
      if (was && is) line('MODIFIED', c.object);
      else if (is) line('ADDED', c.object);
      else if (was) line('DELETED', c.object);
    };
    const from = q.get('resourceVersion');
    if (!from || from === '0') {
      for (const o of store.list(r.plural, r.ns, select)) line('ADDED', o);
    } else {
      const past = store.changesSince(r.plural, Number(from));
      if (!past) {
        line('ERROR', GONE(from));
        res.end();
        return;
      }
      for (const c of past) emit(c);
    }
    const off = store.onChange(emit);
    const bookmarks =
      q.get('allowWatchBookmarks') === 'true'
        ? setInterval(
            () =>
              line('BOOKMARK', {
                kind: 'Bookmark',
                apiVersion: 'v1',
                metadata: { resourceVersion: store.resourceVersion },
              }),
            opts.bookmarkMs ?? 2000,
          )
        : undefined;
    const timeout = setTimeout(() => res.end(), Number(q.get('timeoutSeconds') ?? 1800) * 1000);
    watches.add(res);
    res.on('close', () => {
      off();
      clearInterval(bookmarks);
      clearTimeout(timeout);
      watches.delete(res);
    });
  }

  async function serve(r: Route, req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    if (method === 'GET' && !r.name) {
      const fs = fieldSelector(q.get('fieldSelector'));
      const ls = labelSelector(q.get('labelSelector'));
      const select: Selector = (o) => fs(o) && ls(o);
      if (q.get('watch') === '1' || q.get('watch') === 'true') return watch(r, q, select, res);
      const all = store.list(r.plural, r.ns, select);
      const offset = Number(q.get('continue') ? Buffer.from(q.get('continue')!, 'base64url').toString() : '0');
      const limit = Number(q.get('limit') ?? '0') || all.length;
      const items = all.slice(offset, offset + limit);
      const more = offset + limit < all.length;
      return send(res, 200, {
        kind: `${RESOURCES[r.plural]!.kind}List`,
        apiVersion: RESOURCES[r.plural]!.apiVersion,
        metadata: {
          resourceVersion: store.resourceVersion,
          ...(more ? { continue: Buffer.from(String(offset + limit)).toString('base64url') } : {}),
        },
        items,
      });
    }
    if (method === 'GET') return send(res, 200, store.get(r.plural, r.ns, r.name!));
    if (method === 'POST' && !r.name) return send(res, 201, store.create(r.plural, r.ns, (await readJson(req)) as Obj));
    if (!r.name) throw new ApiError(405, 'MethodNotAllowed', `${method} is not allowed on a collection here`);
    if (method === 'PUT')
      return send(res, 200, store.update(r.plural, r.ns, r.name, (await readJson(req)) as Obj, r.sub));
    if (method === 'PATCH') {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (type !== 'application/merge-patch+json')
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the simulator takes application/merge-patch+json only, not ${type}`,
        );
      return send(res, 200, store.patch(r.plural, r.ns, r.name, await readJson(req), r.sub));
    }
    if (method === 'DELETE') {
      const body = ((await readJson(req)) ?? {}) as Parameters<CoreApiStore['delete']>[3] & object;
      const g = q.get('gracePeriodSeconds');
      if (g !== null) body.gracePeriodSeconds = Number(g);
      return send(res, 200, store.delete(r.plural, r.ns, r.name, body));
    }
    throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported`);
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const r = route(url.pathname);
    if (!r) return proxy(req, res);
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    serve(r, req, res, url.searchParams).catch((err: unknown) => {
      const e = err instanceof ApiError ? err : new ApiError(500, 'InternalError', String(err));
      if (!res.headersSent) send(res, e.code, e.toStatus());
      else res.end();
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${port}`;
  const kubeconfig = join(opts.dir, 'sim-kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{name: sim, cluster: {server: "${url}", insecure-skip-tls-verify: true}}]
users: [{name: sim, user: {}}]
contexts: [{name: sim, context: {cluster: sim, user: sim}}]
current-context: sim
`,
  );
  return {
    kubeconfig,
    url,
    store,
    requests,
    expireWatches() {
      store.compact();
      for (const w of watches) w.end(`${JSON.stringify({ type: 'ERROR', object: GONE(store.resourceVersion) })}\n`);
    },
    async stop() {
      for (const w of watches) w.end();
      for (const up of upstreams) up.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
