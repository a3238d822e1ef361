/**
 * The core API simulator behaves like the API server where cloudcore depends on it: watches
 * resume from a resourceVersion and get 410 once it is compacted, conflicts are 409s, merge
 * patches respect the status subresource and uid preconditions, field selectors filter watches,
 * and bound pods terminate gracefully. Exercised through the same KubeClient and Informer
 * cloudcore uses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Informer, KubeApiError, KubeClient, loadKubeConfig, type KubeObject } from '@edgetwin/cloudcore/k8s';
import { waitFor } from '@edgetwin/sdk/testing';
import { logger, removeTempDirs, tempDir } from './harness.js';
import { startCoreApiSim, type CoreApiSim } from './core-api/server.js';

let sim: CoreApiSim;
let client: KubeClient;
const informers: Array<Informer<KubeObject>> = [];

const podOn = (name: string, nodeName?: string) => ({
  metadata: { name },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'busybox' }] },
});

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof KubeApiError) return err.status;
    throw err;
  }
}

describe('core API simulator', () => {
  beforeAll(async () => {
    sim = await startCoreApiSim({ dir: tempDir('sim'), bookmarkMs: 200 });
    client = new KubeClient(loadKubeConfig(sim.kubeconfig));
  });

  afterAll(async () => {
    for (const i of informers) await i.stop();
    await sim.stop();
    removeTempDirs();
  });

  it('a watch from a compacted resourceVersion gets 410 Gone, and an informer then lists again', async () => {
    const inf = new Informer<KubeObject>(client, '/api/v1/configmaps', logger);
    informers.push(inf);
    const first = sim.store.create('configmaps', 'default', { metadata: { name: 'a' }, data: { k: '1' } });
    inf.start();
    await inf.synced;
    expect([...inf.cache.keys()]).toEqual(['default/a']);
    sim.store.create('configmaps', 'default', { metadata: { name: 'b' }, data: { k: '2' } });
    await waitFor(() => inf.cache.has('default/b'), 10_000, 'the informer to see b');
    sim.expireWatches();
    await waitFor(() => inf.stats.gone === 1 && inf.stats.lists === 2, 10_000, 'a 410 Gone and a relist');
    sim.store.create('configmaps', 'kube-system', { metadata: { name: 'c' }, data: {} });
    await waitFor(() => inf.cache.has('kube-system/c'), 10_000, 'the informer to see c after the relist');
    expect([...inf.cache.keys()].sort()).toEqual(['default/a', 'default/b', 'kube-system/c']);
    // Resuming from a version before the compaction is refused the way the API server does it.
    const events: Array<{ type: string; object: { code?: number } }> = [];
    await client.watch<{ code?: number; metadata: { name: string } }>(
      `/api/v1/configmaps?watch=1&resourceVersion=${first.metadata.resourceVersion}`,
      (e) => events.push(e),
      AbortSignal.timeout(5000),
    );
    expect(events.map((e) => [e.type, e.object.code])).toEqual([['ERROR', 410]]);
  });

  it('a create of an existing name gets 409 AlreadyExists and a stale update gets 409 Conflict', async () => {
    const lease = { metadata: { name: 'n1', namespace: 'kube-node-lease' }, spec: { holderIdentity: 'n1' } };
    const path = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';
    const created = await client.call<KubeObject>('POST', path, lease);
    expect(await status(client.call('POST', path, lease))).toBe(409);
    const updated = await client.call<KubeObject>('PUT', `${path}/n1`, { ...created, spec: { holderIdentity: 'x' } });
    expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
    // The first version again: stale.
    expect(await status(client.call('PUT', `${path}/n1`, { ...created, spec: { holderIdentity: 'y' } }))).toBe(409);
    expect((await client.call<{ spec: { holderIdentity: string } }>('GET', `${path}/n1`)).spec.holderIdentity).toBe(
      'x',
    );
  });

  it('merge patches keep spec and status apart and honour resourceVersion and uid preconditions', async () => {
    const p = await client.call<KubeObject>('POST', '/api/v1/namespaces/default/pods', podOn('p1', 'n1'));
    const path = '/api/v1/namespaces/default/pods/p1';
    await client.call('PATCH', `${path}/status`, { status: { phase: 'Running' } });
    await client.call('PATCH', path, { metadata: { labels: { a: 'b' } }, status: { phase: 'Failed' } });
    const got = await client.call<{ metadata: { labels: Record<string, string> }; status: { phase: string } }>(
      'GET',
      path,
    );
    expect(got.status.phase).toBe('Running');
    expect(got.metadata.labels).toEqual({ a: 'b' });
    expect(await status(client.call('PATCH', `${path}/status`, { metadata: { uid: 'other' }, status: {} }))).toBe(409);
    expect(
      await status(
        client.call('PATCH', path, { metadata: { resourceVersion: p.metadata.resourceVersion, labels: { c: 'd' } } }),
      ),
    ).toBe(409);
    expect(await status(client.call('PATCH', path, { spec: {} }, 'application/strategic-merge-patch+json'))).toBe(415);
  });

  it('a watch with fieldSelector spec.nodeName sees only its node, a pod being bound as ADDED', async () => {
    const inf = new Informer<KubeObject & { spec: { nodeName?: string } }>(client, '/api/v1/pods', logger, {
      fieldSelector: 'spec.nodeName=n2',
    });
    informers.push(inf);
    const seen: string[] = [];
    inf.on((e) => seen.push(`${e.type} ${e.object.metadata.name}`));
    inf.start();
    await inf.synced;
    sim.store.create('pods', 'default', podOn('free'));
    sim.store.create('pods', 'default', podOn('other', 'n3'));
    sim.store.patch('pods', 'default', 'free', { spec: { nodeName: 'n2' } });
    await waitFor(() => inf.cache.has('default/free'), 10_000, 'the bound pod');
    sim.store.delete('pods', 'default', 'free', { gracePeriodSeconds: 0 });
    await waitFor(() => !inf.cache.has('default/free'), 10_000, 'the deleted pod');
    expect(seen).toEqual(['add free', 'delete free']);
  });

  it('deleting a pod bound to a node marks it terminating; grace period 0 removes it', async () => {
    sim.store.create('pods', 'default', {
      ...podOn('t1', 'n1'),
      spec: { ...podOn('t1', 'n1').spec, terminationGracePeriodSeconds: 7 },
    });
    const path = '/api/v1/namespaces/default/pods/t1';
    const marked = await client.call<{ metadata: { deletionTimestamp?: string; deletionGracePeriodSeconds?: number } }>(
      'DELETE',
      path,
    );
    expect(marked.metadata.deletionTimestamp).toBeDefined();
    expect(marked.metadata.deletionGracePeriodSeconds).toBe(7);
    expect(await status(client.call('DELETE', path, { gracePeriodSeconds: 0, preconditions: { uid: 'x' } }))).toBe(409);
    await client.call('DELETE', path, { gracePeriodSeconds: 0 });
    expect(await status(client.call('GET', path))).toBe(404);
  });

  it('paths outside the core API are 404 without an upstream server', async () => {
    expect(await status(client.call('GET', '/apis/devices.kubeedge.io/v1beta1/devices'))).toBe(404);
  });
});
