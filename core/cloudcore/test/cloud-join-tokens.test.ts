/**
 * Join tokens against a real cloudcore (CRD API server): single use, bound to a node name,
 * never replacing an existing node's credentials unless made with --replace, revocable, listed;
 * and the files cloudcore and the edge write that hold secrets are 0600 in 0700 directories.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cloudCommand, type CloudCore } from '@edgetwin/cloudcore';
import { waitFor, type KubeTestCluster } from '@edgetwin/sdk/testing';
import { removeTempDirs, startCloud, startCluster, startEdge, tempDir, type TestEdge } from './harness.js';

let kube: KubeTestCluster | undefined;
let skipReason: string | undefined;
let cloud: CloudCore | undefined;
let cloudDir = '';
const edges: TestEdge[] = [];

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await cloudCommand([...args, '--data-dir', cloudDir], {
    out: (s) => (out += s),
    err: (s) => (err += s),
  });
  return { code, out, err };
}

async function join_(node: string, token: string): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`http://127.0.0.1:${cloud!.port}/v1/join`, {
    method: 'POST',
    body: JSON.stringify({ node, token }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

/** Opens the link websocket with a bearer node token: 101 when accepted, else the HTTP status. */
async function connectStatus(node: string, nodeToken: string): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${cloud!.port}/v1/connect`, {
    headers: { authorization: `Bearer ${nodeToken}`, 'x-edgetwin-node': node },
  });
  const status = await new Promise<number>((resolve) => {
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => resolve(101));
    ws.on('error', () => undefined);
  });
  ws.terminate();
  return status;
}

const mode = (f: string) => statSync(f).mode & 0o777;

describe('join tokens', () => {
  beforeAll(async () => {
    const k = await startCluster();
    if (typeof k === 'string') {
      skipReason = k;
      return;
    }
    kube = k;
    cloudDir = tempDir('cloud-tokens');
    cloud = await startCloud({ kubeconfig: kube.kubeconfig, dataDir: cloudDir });
  }, 360_000);

  afterAll(async () => {
    for (const e of edges) await e.stop();
    await cloud?.stop();
    await kube?.stop();
    removeTempDirs();
  }, 60_000);

  it('a token bound to a node is refused for another node name and still joins its own node', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const created = await cli(['token', 'create', '--node', 'edge-a', '--ttl', '1h']);
    expect(created.code).toBe(0);
    const token = created.out.trim();
    expect(token).toMatch(/^etj\.[A-Za-z0-9_-]{40}$/);
    expect(created.err).toMatch(/single use, for node edge-a/);
    const other = await join_('edge-evil', token);
    expect(other.status).toBe(403);
    expect(other.body.message).toMatch(/is for node edge-a, not edge-evil/);
    expect(cloud!.store.listNodes().map((n) => n.name)).not.toContain('edge-evil');
    const own = await join_('edge-a', token);
    expect(own.status).toBe(200);
    expect(own.body.nodeToken).toMatch(/^etn\./);
    expect(await connectStatus('edge-a', own.body.nodeToken!)).toBe(101);
  });

  it('a join token reused for the node that joined with it is refused, and the node keeps its credentials', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const token = (await cli(['token', 'create', '--node', 'edge-b'])).out.trim();
    const first = await join_('edge-b', token);
    expect(first.status).toBe(200);
    const again = await join_('edge-b', token);
    expect(again.status).toBe(401);
    expect(again.body.message).toMatch(/is used/);
    // A fresh token without --replace cannot take the existing node over either.
    const fresh = (await cli(['token', 'create'])).out.trim();
    const takeover = await join_('edge-b', fresh);
    expect(takeover.status).toBe(403);
    expect(takeover.body.message).toMatch(/already joined.*--replace/);
    // The node's own token still works: nothing was rotated by the refused joins.
    expect(await connectStatus('edge-b', first.body.nodeToken!)).toBe(101);
  });

  it('a token made with --replace gives an existing node new credentials and the old ones stop working', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const first = await join_('edge-c', (await cli(['token', 'create', '--node', 'edge-c'])).out.trim());
    expect(first.status).toBe(200);
    expect((await cli(['token', 'create', '--replace'])).code).toBe(2); // --replace needs --node
    const replace = (await cli(['token', 'create', '--node', 'edge-c', '--replace'])).out.trim();
    const second = await join_('edge-c', replace);
    expect(second.status).toBe(200);
    expect(await connectStatus('edge-c', first.body.nodeToken!)).toBe(401);
    expect(await connectStatus('edge-c', second.body.nodeToken!)).toBe(101);
  });

  it('`token list` shows each token with its node and status; a revoked token is refused', async ({ skip }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const token = (await cli(['token', 'create', '--node', 'edge-d'])).out.trim();
    const id = token.slice(4, 12);
    const listed = await cli(['token', 'list']);
    expect(listed.out).toMatch(/^ID\s+NODE\s+REPLACE\s+STATUS\s+EXPIRES\s+USED-BY$/m);
    expect(listed.out).toMatch(new RegExp(`^${id}\\s+edge-d\\s+no\\s+valid\\s`, 'm'));
    expect(listed.out).toMatch(/\sedge-a\s+no\s+used\s+\S+\s+edge-a$/m);
    // The list never shows a token itself, only its public id.
    expect(listed.out).not.toContain(token);
    const revoked = await cli(['token', 'revoke', id]);
    expect(revoked.code).toBe(0);
    const refused = await join_('edge-d', token);
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/is revoked/);
    const asJson = JSON.parse((await cli(['token', 'list', '--json'])).out) as Array<{ id: string; status: string }>;
    expect(asJson.find((t) => t.id === id)?.status).toBe('revoked');
    expect((await cli(['token', 'revoke', 'nosuchid'])).code).toBe(1);
    // An edge given the revoked token never connects and says why.
    const edge = await startEdge({ node: 'edge-d', cloudUrl: `http://127.0.0.1:${cloud!.port}`, token });
    edges.push(edge);
    await waitFor(() => edge.sync.hub.lastError, 10_000, 'the join to fail');
    expect(edge.sync.hub.lastError).toMatch(/401 join token \S+ is revoked/);
    expect(edge.sync.connected).toBe(false);
  });

  it('the files holding secrets are 0600 and their directories 0700, on the cloud and on the edge', async ({
    skip,
  }) => {
    if (!kube) return skip(skipReason ?? 'no cluster');
    const token = (await cli(['token', 'create', '--node', 'edge-e'])).out.trim();
    const edge = await startEdge({ node: 'edge-e', cloudUrl: `http://127.0.0.1:${cloud!.port}`, token });
    edges.push(edge);
    await waitFor(() => edge.sync.connected, 15_000, 'edge-e connected');
    expect(mode(cloudDir)).toBe(0o700);
    for (const f of ['cloudcore.db', 'cloudcore.db-wal', 'cloudcore.db-shm', 'pki/ca.key', 'pki/ca.crt'])
      expect([f, mode(join(cloudDir, f))]).toEqual([f, 0o600]);
    expect(mode(join(cloudDir, 'pki'))).toBe(0o700);
    // The edge keeps its node token in cloud-sync.db (and SQLite's -wal/-shm take its mode).
    for (const f of ['cloud-sync.db', 'cloud-sync.db-wal', 'cloud-sync.db-shm'])
      expect([f, mode(join(edge.dataDir, f))]).toEqual([f, 0o600]);
  });
});
