/**
 * Upgrades keep data: the data directories EdgeTwin 0.1.0 left behind (made by
 * scripts/make-upgrade-fixture.mjs with that release, before schema versioning) are opened by
 * this release, migrated to the current schema versions, and serve the same twins, tokens and pods.
 */
import Database from 'better-sqlite3';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudSyncStore } from '@edgetwin/edgecore';
import { AgentStore } from '@edgetwin/agent';
import { CloudStateStore } from '@edgetwin/cloudcore';
import { schemaVersion } from '@edgetwin/device-twin/sqlite';
import { startEdgecore, tempDir, type EdgecoreProcess } from '../edgecore/test/helpers/edgecore-process.js';

const FIXTURE = resolve(fileURLToPath(import.meta.url), '../fixtures/upgrade-0.1.0');

interface Expected {
  twin: {
    meta: Array<{ id: string; desired_version: number; reported_version: number; state: string }>;
    desired: Array<{ id: string; prop: string; value: string; version: number; source: string }>;
    reported: Array<{ id: string; prop: string; value: string; updated_at: number; source_time: number | null }>;
    resources: Array<{ kind: string; id: string }>;
  };
  cloudSync: { nodeToken: string; resources: number; outbox: number };
  agent: { pods: string[]; restartCount: number; configMap: Record<string, string> };
  cloud: { joinToken: string; nodeName: string; nodeToken: string };
}
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as Expected;

interface TwinView {
  desired: Record<string, { value: unknown; version: number; source: string }>;
  reported: Record<string, { value: unknown; updatedAt: number; sourceTime?: number }>;
  desiredVersion: number;
  reportedVersion: number;
}

const dirs: string[] = [];
let edge: EdgecoreProcess | undefined;
afterEach(async () => {
  await edge?.kill();
  edge = undefined;
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function copyFixture(): string {
  const dir = tempDir('upgrade');
  dirs.push(dir);
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

describe('upgrading from 0.1.0', () => {
  it('edgecore opens a 0.1.0 data directory and serves the same devices, desired and reported values', async () => {
    const dir = copyFixture();
    const dataDir = join(dir, 'edge-data');
    const before = new Database(join(dataDir, 'edgetwin.db'), { readonly: true });
    expect(schemaVersion(before)).toBe(0); // 0.1.0 had no version table
    before.close();
    edge = await startEdgecore({ dataDir, devicesDir: join(dir, 'devices'), nodeName: 'edge-1' });

    const devices = (await (await fetch(`${edge.http}/api/v1/devices`)).json()) as { items: unknown[] };
    expect(devices.items).toHaveLength(expected.twin.resources.filter((r) => r.kind === 'Device').length);
    for (const meta of expected.twin.meta) {
      const res = await fetch(`${edge.http}/api/v1/devices/${meta.id}/twin`);
      expect(res.status).toBe(200);
      const twin = (await res.json()) as TwinView;
      expect(twin.desiredVersion).toBe(meta.desired_version);
      expect(twin.reportedVersion).toBe(meta.reported_version);
      for (const d of expected.twin.desired.filter((r) => r.id === meta.id)) {
        expect(twin.desired[d.prop], `${meta.id} desired ${d.prop}`).toMatchObject({
          value: JSON.parse(d.value) as unknown,
          version: d.version,
          source: d.source,
        });
      }
      const reported = expected.twin.reported.filter((r) => r.id === meta.id);
      expect(Object.keys(twin.reported).sort()).toEqual(reported.map((r) => r.prop).sort());
      for (const r of reported) {
        expect(twin.reported[r.prop], `${meta.id} reported ${r.prop}`).toMatchObject({
          value: JSON.parse(r.value) as unknown,
          updatedAt: r.updated_at,
        });
      }
    }
    // what a user set before the upgrade is still there: the setpoint and the heater
    const thermostat = (await (
      await fetch(`${edge.http}/api/v1/devices/default/thermostat-1/twin`)
    ).json()) as TwinView;
    expect(thermostat.desired.setpoint?.value).toBe(25.5);
    expect(thermostat.desired.heater?.value).toBe(true);
    await edge.kill();
    edge = undefined;

    const db = new Database(join(dataDir, 'edgetwin.db'), { readonly: true });
    expect(schemaVersion(db)).toBeGreaterThanOrEqual(1);
    db.close();
  });

  it('the cloud link keeps its node token, resources and unconfirmed outbox', () => {
    const dir = copyFixture();
    const store = new CloudSyncStore(join(dir, 'edge-data'));
    expect(store.getMeta('nodeToken')).toBe(expected.cloudSync.nodeToken);
    expect(store.resources()).toHaveLength(expected.cloudSync.resources);
    expect(store.outboxSize()).toBe(expected.cloudSync.outbox);
    store.close();
  });

  it('the pod agent keeps its pods, restart counts and config maps', () => {
    const dir = copyFixture();
    const store = new AgentStore(join(dir, 'edge-data', 'agent', 'agent.db'));
    expect(store.pods().map((p) => p.key)).toEqual(expected.agent.pods);
    expect(store.containers(expected.agent.pods[0]!)[0]?.restartCount).toBe(expected.agent.restartCount);
    expect(store.configMap('default/settings')).toEqual(expected.agent.configMap);
    store.close();
  });

  it("cloudcore still accepts the 0.1.0 join token and the node's token", () => {
    const dir = copyFixture();
    const store = new CloudStateStore(join(dir, 'cloud-data'));
    expect(store.checkJoinToken(expected.cloud.joinToken)).toBe(true);
    expect(store.authNode(expected.cloud.nodeName, expected.cloud.nodeToken)).toBe(true);
    expect(store.authNode(expected.cloud.nodeName, 'etn.wrong')).toBe(false);
    store.close();
  });

  it('the 0.1.0 join token, reusable under any name then, now joins one new node once and cannot take over a node', () => {
    const dir = copyFixture();
    const store = new CloudStateStore(join(dir, 'cloud-data'));
    const { joinToken, nodeName, nodeToken } = expected.cloud;
    expect(store.admitNode(joinToken, nodeName)).toMatchObject({ ok: false, status: 403 });
    expect(store.admitNode(joinToken, 'edge-new')).toMatchObject({ ok: true });
    expect(store.admitNode(joinToken, 'edge-other')).toMatchObject({ ok: false, status: 401 });
    expect(store.tokens.list()).toEqual([
      expect.objectContaining({ status: 'used', usedBy: 'edge-new', node: undefined }),
    ]);
    // The node that joined under 0.1.0 keeps its credentials.
    expect(store.authNode(nodeName, nodeToken)).toBe(true);
    store.close();
  });
});
