/**
 * Node identity over TLS: at join the edge sends a CSR and gets a client certificate from
 * cloudcore's CA (checked here with openssl), authenticates every connection with it, and renews
 * it at 80 % of its lifetime. A certificate from another CA, a bearer token, or a certificate
 * replaced by a later join is refused.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cloudCommand, type CloudCore } from '@edgetwin/cloudcore';
import { waitFor, type KubeTestCluster } from '@edgetwin/sdk/testing';
import {
  deviceYaml,
  kubectlSetDesired,
  modelYaml,
  removeTempDirs,
  startCloud,
  startCluster,
  startEdge,
  tempDir,
  waitForDesired,
  type TestEdge,
} from './harness.js';
import { foreignClientCert, nodeCsr, opensslVerifies, serverCert } from './openssl.js';

let kube: KubeTestCluster | undefined;
let skipReason: string | undefined;
let cloud: CloudCore | undefined;
let dir = '';
let server: ReturnType<typeof serverCert>;
const edges: TestEdge[] = [];
/** Short enough that the test sees several renewals. */
const LIFETIME_MS = 6000;

const url = () => `https://127.0.0.1:${cloud!.port}`;

/** Opens the link websocket with the given TLS client material: 101 when accepted, else the status. */
async function connectStatus(o: { cert?: string; key?: string; bearer?: string; node: string }): Promise<number> {
  const ws = new WebSocket(`wss://127.0.0.1:${cloud!.port}/v1/connect`, {
    ca: server.cert,
    headers: { 'x-edgetwin-node': o.node, ...(o.bearer ? { authorization: `Bearer ${o.bearer}` } : {}) },
    ...(o.cert && o.key ? { cert: o.cert, key: o.key } : {}),
  });
  const status = await new Promise<number>((resolve) => {
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => resolve(101));
    ws.on('error', () => resolve(0));
  });
  ws.terminate();
  return status;
}

async function joinWithCsr(node: string, token: string, csr: string) {
  const { request } = await import('node:https');
  return new Promise<{ status: number; body: Record<string, string> }>((resolve, reject) => {
    const req = request(`${url()}/v1/join`, { method: 'POST', ca: server.cert }, (res) => {
      let t = '';
      res.on('data', (c: Buffer) => (t += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(t) as Record<string, string> }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ node, token, csr }));
  });
}

describe('node certificates', () => {
  beforeAll(async () => {
    const k = await startCluster();
    if (typeof k === 'string') {
      skipReason = k;
      return;
    }
    kube = k;
    dir = tempDir('certs');
    server = serverCert(dir);
    cloud = await startCloud({
      kubeconfig: kube.kubeconfig,
      dataDir: join(dir, 'cloud'),
      tls: { cert: server.cert, key: server.key },
      nodeCertLifetimeMs: LIFETIME_MS,
    });
    await kube.kubectl(['apply', '-f', '-'], modelYaml('thermo'));
  }, 360_000);

  afterAll(async () => {
    for (const e of edges) await e.stop();
    await cloud?.stop();
    await kube?.stop();
    removeTempDirs();
  }, 60_000);

  it('after join a node authenticates with the certificate cloudcore issued, and renews it before it expires', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const token = cloud!.store.createJoinToken(60_000, { node: 'edge-cert' }).token;
    const edge = await startEdge({ node: 'edge-cert', cloudUrl: url(), token, ca: server.cert });
    edges.push(edge);
    await kube.kubectl(['apply', '-f', '-'], deviceYaml('valve', 'edge-cert', 'thermo', '5'));
    await waitForDesired(edge, 'default/valve', 'temperature', 5);
    const first = edge.sync.hub.certificate!;
    expect(first.node).toBe('edge-cert');
    // openssl accepts it as a client certificate of cloudcore's CA; the key never left the edge.
    const caPem = readFileSync(join(dir, 'cloud', 'pki', 'ca.crt'), 'utf8');
    expect(opensslVerifies(dir, caPem, first.cert)).toBe(true);
    expect(readFileSync(join(edge.dataDir, 'cloud-pki', 'ca.crt'), 'utf8')).toBe(caPem);
    // The edge's key and certificate are 0600 in a 0700 directory.
    const mode = (f: string) => statSync(join(edge.dataDir, f)).mode & 0o777;
    expect([mode('cloud-pki'), mode('cloud-pki/node.key'), mode('cloud-pki/node.crt')]).toEqual([0o700, 0o600, 0o600]);
    // No bearer token was handed out over TLS.
    expect(edge.sync.store.getMeta('nodeToken')).toBeUndefined();
    // Renewed at 80 % of its lifetime, over and over, each time with a new serial and a later expiry.
    await waitFor(() => edge.sync.hub.renewals >= 2, 4 * LIFETIME_MS, 'two renewals');
    const renewed = edge.sync.hub.certificate!;
    expect(renewed.serial).not.toBe(first.serial);
    expect(renewed.notAfter).toBeGreaterThan(first.notAfter);
    expect(opensslVerifies(dir, caPem, renewed.cert)).toBe(true);
    // `edgetwin cloud nodes` shows when the newest certificate expires.
    let out = '';
    expect(
      await cloudCommand(['nodes', '--data-dir', join(dir, 'cloud')], { out: (x) => (out += x), err: () => undefined }),
    ).toBe(0);
    expect(out).toMatch(/^NAME\s+STATUS\s+LAST-HEARTBEAT\s+DEVICES\s+ADDRESS\s+CERT-EXPIRES$/m);
    const listed = /^edge-cert\s.*\s(\S+)$/m.exec(out)?.[1];
    expect(Date.parse(listed ?? '')).toBeGreaterThanOrEqual(Math.floor(renewed.notAfter / 1000) * 1000);
    // Well past the first certificate's expiry the link still works.
    await waitFor(() => Date.now() > first.notAfter + 1000, 2 * LIFETIME_MS, 'the first certificate to expire');
    await kubectlSetDesired(kube, 'valve', 0, '6');
    await waitForDesired(edge, 'default/valve', 'temperature', 6);
    // The expired first certificate itself is refused.
    expect(await connectStatus({ node: 'edge-cert', cert: first.cert, key: first.key })).toBe(401);
  });

  it('a certificate from another CA, a bearer token, or no credential at all is refused', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const foreign = foreignClientCert(tempDir('foreign'), 'edge-cert');
    expect(await connectStatus({ node: 'edge-cert', ...foreign })).toBe(401);
    expect(await connectStatus({ node: 'edge-cert', bearer: 'etn.anything' })).toBe(401);
    expect(await connectStatus({ node: 'edge-cert' })).toBe(401);
    // The renew endpoint wants the node's own live certificate too.
    const { request } = await import('node:https');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${url()}/v1/renew`, { method: 'POST', ca: server.cert, ...foreign }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ csr: nodeCsr(tempDir('csr'), 'edge-cert').csr }));
    });
    expect(status).toBe(401);
  });

  it('a join with a CSR for another node name is refused without using the token up', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const token = cloud!.store.createJoinToken(60_000, { node: 'edge-x' }).token;
    const wrong = await joinWithCsr('edge-x', token, nodeCsr(tempDir('csr'), 'edge-cert').csr);
    expect(wrong.status).toBe(400);
    expect(wrong.body.message).toMatch(/for "edge-cert", not for node edge-x/);
    const right = await joinWithCsr('edge-x', token, nodeCsr(tempDir('csr'), 'edge-x').csr);
    expect(right.status).toBe(200);
  });

  it('a join with a --replace token gives the node a new certificate; the old one is refused from then on', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const edge = edges[0]!;
    const old = edge.sync.hub.certificate!;
    const plain = cloud!.store.createJoinToken(60_000, { node: 'edge-cert' }).token;
    const refused = await joinWithCsr('edge-cert', plain, nodeCsr(tempDir('csr'), 'edge-cert').csr);
    expect(refused.status).toBe(403);
    expect(edge.sync.connected).toBe(true);
    const replace = cloud!.store.createJoinToken(60_000, { node: 'edge-cert', replace: true }).token;
    const fresh = nodeCsr(tempDir('csr'), 'edge-cert');
    const replaced = await joinWithCsr('edge-cert', replace, fresh.csr);
    expect(replaced.status).toBe(200);
    // The running edge is cut off and cannot come back with its (unexpired) old certificate.
    await waitFor(() => !edge.sync.connected, 10_000, 'the old session to close');
    expect(old.notAfter).toBeGreaterThan(Date.now());
    expect(await connectStatus({ node: 'edge-cert', cert: old.cert, key: old.key })).toBe(401);
    expect(await connectStatus({ node: 'edge-cert', cert: replaced.body.certificate!, key: fresh.key })).toBe(101);
  });
});
