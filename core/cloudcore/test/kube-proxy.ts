/**
 * A loopback HTTP proxy in front of the test API server, for provoking what a real cluster does
 * rarely: every watch ending with 410 Gone (history compacted). It forwards everything else
 * unchanged, with the API server's client certificate, and counts list and watch requests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { ClientRequest } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { freePort } from '@edgetwin/sdk/testing';

export interface KubeProxy {
  kubeconfig: string;
  /** GET requests per path without `watch`, and with it. */
  lists: Map<string, number>;
  watches: Map<string, number>;
  /** Ends every open watch with a 410 Gone event; the next watch from an old version gets one too. */
  expireWatches(): void;
  stop(): Promise<void>;
}

const GONE = JSON.stringify({
  type: 'ERROR',
  object: {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    message: 'too old resource version',
    reason: 'Expired',
    code: 410,
  },
});

export async function startKubeProxy(kubeconfig: string, dir: string): Promise<KubeProxy> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const upstream = new URL(kc.getCurrentCluster()!.server);
  const tls: RequestOptions = {};
  await kc.applyToHTTPSOptions(tls);
  const open = new Map<ServerResponse, IncomingMessage>();
  const lists = new Map<string, number>();
  const watches = new Map<string, number>();
  const upstreams = new Set<ClientRequest>();
  let goneNext = false;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const isWatch = url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true';
    const counter = isWatch ? watches : req.method === 'GET' ? lists : undefined;
    counter?.set(url.pathname, (counter.get(url.pathname) ?? 0) + 1);
    if (isWatch && goneNext && url.searchParams.get('resourceVersion')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${GONE}\n`);
      return;
    }
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
        if (isWatch) {
          open.set(res, ures);
          res.on('close', () => open.delete(res));
        }
        ures.pipe(res);
      },
    );
    upstreams.add(up);
    up.on('close', () => upstreams.delete(up));
    res.on('close', () => up.destroy());
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const file = join(dir, 'proxy-kubeconfig');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters: [{name: proxy, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]
users: [{name: proxy, user: {}}]
contexts: [{name: proxy, context: {cluster: proxy, user: proxy}}]
current-context: proxy
`,
  );
  return {
    kubeconfig: file,
    lists,
    watches,
    expireWatches() {
      goneNext = true;
      for (const [res, ures] of open) {
        ures.unpipe(res);
        ures.destroy();
        res.end(`${GONE}\n`);
      }
      open.clear();
      // Only the watches that try to resume right away see 410; later ones (after the relist) work.
      setTimeout(() => (goneNext = false), 100);
    },
    async stop() {
      for (const up of upstreams) up.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
