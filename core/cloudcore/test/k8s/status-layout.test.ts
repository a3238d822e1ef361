/**
 * Where reported values land in Kubernetes, against the real CRD API server: with KubeEdge 1.23's
 * own CRDs (vendored unchanged from kubeedge/kubeedge build/crds/devices, commit 16cd8548e, tag
 * v1.23.0-beta.0-150) in the separate DeviceStatus resource; with KubeEdge's Device CRD alone (no
 * status subresource, no DeviceStatus CRD) a clear error, once; with EdgeTwin's CRDs in Device.status.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DeviceController } from '@edgetwin/cloudcore/k8s';
import { startKubeApiServer, waitFor, type KubeTestCluster } from '@edgetwin/sdk/testing';

const repo = join(import.meta.dirname, '..', '..', '..', '..');
const KUBEEDGE_CRDS = join(import.meta.dirname, 'fixtures', 'kubeedge-1.23-crds');
const SAMPLE = join(repo, 'examples', 'kubeedge-samples', 'kubeedge-examples', 'temperature-sensor-demo');
const KEY = 'default/temperature-instance';

interface Logged {
  level: number;
  msg: string;
  err?: string;
  layout?: string;
}

function controller(kube: KubeTestCluster) {
  const lines: Logged[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as Logged) });
  const c = new DeviceController({ kubeconfig: kube.kubeconfig, logger, statusIntervalMs: 10 });
  return { c, lines };
}

type Json = Record<string, unknown> & { metadata: { uid: string; ownerReferences?: { uid: string }[] } };

describe('device status layouts on the real CRD API server', () => {
  let kube: KubeTestCluster | string;
  const k = () => kube as KubeTestCluster;
  const established = (crd: string) =>
    k().kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${crd}.devices.kubeedge.io`]);

  beforeAll(async () => {
    kube = await startKubeApiServer();
    if (typeof kube === 'string') return;
    await k().kubectl(['apply', '-f', KUBEEDGE_CRDS]);
    for (const crd of ['devices', 'devicemodels', 'devicestatuses']) await established(crd);
    await k().kubectl(['apply', '-n', 'default', '-f', SAMPLE]);
  }, 300_000);

  afterAll(async () => {
    if (typeof kube !== 'string') await kube?.stop();
  });

  it("with KubeEdge 1.23's CRDs, reported values go to a DeviceStatus owned by the Device", async (ctx) => {
    if (typeof kube === 'string') return ctx.skip();
    const { c, lines } = controller(k());
    await c.start();
    try {
      expect(c.status.layout).toBe('devicestatus');
      expect(lines.find((l) => l.msg === 'device status layout')?.layout).toBe('devicestatus');
      await waitFor(() => c.devices.cache.get(KEY) !== undefined, 10_000, 'the Device in the informer');
      await c.writeStatus(KEY, {
        twins: { temperature: { value: '21.5', updatedAt: 1_700_000_000_000 } },
        state: 'online',
        lastOnlineTime: '2026-12-06T20:00:00Z',
      });
      const ds = JSON.parse(
        await k().kubectl(['get', 'devicestatuses', '-n', 'default', 'temperature-instance', '-o', 'json']),
      ) as Json & { status: { twins: { propertyName: string; reported: { value: string } }[]; state: string } };
      expect(ds.status.state).toBe('online');
      expect(ds.status.twins).toEqual([
        { propertyName: 'temperature', reported: { value: '21.5', metadata: { timestamp: '1700000000000' } } },
      ]);
      const dev = JSON.parse(
        await k().kubectl(['get', 'devices', '-n', 'default', 'temperature-instance', '-o', 'json']),
      ) as Json;
      expect(ds.metadata.ownerReferences?.[0]?.uid).toBe(dev.metadata.uid);
      // a second report updates the same object
      await c.writeStatus(KEY, { twins: { temperature: { value: '22' } } });
      const again = JSON.parse(
        await k().kubectl(['get', 'devicestatuses', '-n', 'default', 'temperature-instance', '-o', 'json']),
      ) as { status: { twins: { reported: { value: string } }[] } };
      expect(again.status.twins[0]!.reported.value).toBe('22');
    } finally {
      await c.stop();
    }
  });

  it("with KubeEdge's Device CRD alone, a missing status subresource is said once, clearly, not taken for a deleted device", async (ctx) => {
    if (typeof kube === 'string') return ctx.skip();
    await k().kubectl(['delete', 'crd', 'devicestatuses.devices.kubeedge.io']);
    await waitFor(
      async () => !(await k().kubectl(['api-resources', '--api-group=devices.kubeedge.io'])).includes('devicestatuses'),
      30_000,
      'the DeviceStatus CRD to go',
    );
    const { c, lines } = controller(k());
    await c.start();
    try {
      const detect = lines.find((l) => l.msg === 'reported values will not reach Kubernetes');
      expect(detect?.err).toMatch(/no status subresource and there is no DeviceStatus CRD/);
      await waitFor(() => c.devices.cache.get(KEY) !== undefined, 10_000, 'the Device in the informer');
      await c.writeStatus(KEY, { twins: { temperature: { value: '1' } } });
      await c.writeStatus(KEY, { twins: { temperature: { value: '2' } } });
      const said = lines.filter((l) => l.msg === 'reported values are not written');
      expect(said).toHaveLength(1);
      expect(said[0]!.err).toMatch(/exists but PATCH on its status subresource answers 404/);
      // the Device is still there: nothing was mistaken for a deletion
      expect(c.devices.cache.get(KEY)).toBeDefined();
    } finally {
      await c.stop();
    }
  });

  it("with EdgeTwin's CRDs, reported values go to Device.status", async (ctx) => {
    if (typeof kube === 'string') return ctx.skip();
    await k().kubectl(['apply', '-f', join(repo, 'deploy', 'crds.yaml')]);
    await waitFor(
      async () => (await k().kubectl(['get', '--raw', '/apis/devices.kubeedge.io/v1beta1'])).includes('devices/status'),
      30_000,
      'the status subresource',
    );
    const { c } = controller(k());
    await c.start();
    try {
      expect(c.status.layout).toBe('device');
      await waitFor(() => c.devices.cache.get(KEY) !== undefined, 10_000, 'the Device in the informer');
      await c.writeStatus(KEY, { twins: { temperature: { value: '23.5' } }, state: 'online' });
      const dev = JSON.parse(
        await k().kubectl(['get', 'devices', '-n', 'default', 'temperature-instance', '-o', 'json']),
      ) as { status: { state: string; twins: { reported: { value: string } }[] } };
      expect(dev.status.state).toBe('online');
      expect(dev.status.twins[0]!.reported.value).toBe('23.5');
    } finally {
      await c.stop();
    }
  });
});
