/**
 * The agent's SQLite state: which pods it runs, where they came from, and the runtime ids of their
 * sandboxes and containers. It is what lets a restarted agent adopt running pods instead of
 * starting them again, with no cloud. Opened in WAL mode so the CLI (`edgetwin logs`) can read it
 * while the agent writes.
 */
import Database from 'better-sqlite3';
import { checkSchemaReadable, migrateSchema } from '@edgetwin/device-twin/sqlite';
import { AGENT_MIGRATIONS } from './store-migrations.js';
import type { Pod } from './pod-schema.js';
import type { RuntimeName } from './runtime/types.js';
import type { PodStatus, ContainerStateView } from './status.js';

export type PodSource = 'static' | 'cloud';

export interface StoredPod {
  key: string;
  source: PodSource;
  runtime: RuntimeName;
  pod: Pod;
  /** Hash of the spec the pod was created from; a changed hash means the pod is recreated. */
  specHash: string;
  sandboxId: string | undefined;
  /** Set when a delete was requested: the grace period in ms. */
  deletingGraceMs: number | undefined;
  status: PodStatus | undefined;
}

export interface StoredContainer {
  podKey: string;
  name: string;
  containerId: string | undefined;
  restartCount: number;
  logPath: string | undefined;
  lastTerminated: ContainerStateView | undefined;
}

interface PodRow {
  key: string;
  source: string;
  runtime: string;
  manifest: string;
  spec_hash: string;
  sandbox_id: string | null;
  deleting_grace_ms: number | null;
  status: string | null;
}
interface ContainerRow {
  pod_key: string;
  name: string;
  container_id: string | null;
  restart_count: number;
  log_path: string | null;
  last_terminated: string | null;
}

export class AgentStore {
  private readonly db: Database.Database;

  constructor(file: string, opts: { readonly?: boolean } = {}) {
    this.db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    if (!opts.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      migrateSchema(this.db, { store: 'agent store', file, migrations: AGENT_MIGRATIONS });
    } else {
      this.db.pragma('busy_timeout = 2000');
      checkSchemaReadable(this.db, { store: 'agent store', file, migrations: AGENT_MIGRATIONS });
    }
  }

  close(): void {
    this.db.close();
  }

  pods(): StoredPod[] {
    return (this.db.prepare('SELECT * FROM pods').all() as PodRow[]).map(toPod);
  }

  pod(key: string): StoredPod | undefined {
    const row = this.db.prepare('SELECT * FROM pods WHERE key = ?').get(key) as PodRow | undefined;
    return row ? toPod(row) : undefined;
  }

  savePod(p: StoredPod): void {
    this.db
      .prepare(
        `INSERT INTO pods (key, source, runtime, manifest, spec_hash, sandbox_id, deleting_grace_ms, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET source = excluded.source, runtime = excluded.runtime,
           manifest = excluded.manifest, spec_hash = excluded.spec_hash, sandbox_id = excluded.sandbox_id,
           deleting_grace_ms = excluded.deleting_grace_ms, status = excluded.status`,
      )
      .run(
        p.key,
        p.source,
        p.runtime,
        JSON.stringify(p.pod),
        p.specHash,
        p.sandboxId ?? null,
        p.deletingGraceMs ?? null,
        p.status ? JSON.stringify(p.status) : null,
      );
  }

  deletePod(key: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM containers WHERE pod_key = ?').run(key);
      this.db.prepare('DELETE FROM pods WHERE key = ?').run(key);
    })();
  }

  containers(podKey: string): StoredContainer[] {
    return (this.db.prepare('SELECT * FROM containers WHERE pod_key = ?').all(podKey) as ContainerRow[]).map(
      toContainer,
    );
  }

  saveContainer(c: StoredContainer): void {
    this.db
      .prepare(
        `INSERT INTO containers (pod_key, name, container_id, restart_count, log_path, last_terminated)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (pod_key, name) DO UPDATE SET container_id = excluded.container_id,
           restart_count = excluded.restart_count, log_path = excluded.log_path, last_terminated = excluded.last_terminated`,
      )
      .run(
        c.podKey,
        c.name,
        c.containerId ?? null,
        c.restartCount,
        c.logPath ?? null,
        c.lastTerminated ? JSON.stringify(c.lastTerminated) : null,
      );
  }

  deleteContainers(podKey: string): void {
    this.db.prepare('DELETE FROM containers WHERE pod_key = ?').run(podKey);
  }

  configMap(key: string): Record<string, string> | undefined {
    const row = this.db.prepare('SELECT data FROM config_maps WHERE key = ?').get(key) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as Record<string, string>) : undefined;
  }

  saveConfigMap(key: string, data: Record<string, string>): void {
    this.db
      .prepare('INSERT INTO config_maps (key, data) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data')
      .run(key, JSON.stringify(data));
  }
}

function toPod(r: PodRow): StoredPod {
  return {
    key: r.key,
    source: r.source === 'cloud' ? 'cloud' : 'static',
    runtime: r.runtime === 'containerd' ? 'containerd' : 'process',
    pod: JSON.parse(r.manifest) as Pod,
    specHash: r.spec_hash,
    sandboxId: r.sandbox_id ?? undefined,
    deletingGraceMs: r.deleting_grace_ms ?? undefined,
    status: r.status ? (JSON.parse(r.status) as PodStatus) : undefined,
  };
}

function toContainer(r: ContainerRow): StoredContainer {
  return {
    podKey: r.pod_key,
    name: r.name,
    containerId: r.container_id ?? undefined,
    restartCount: r.restart_count,
    logPath: r.log_path ?? undefined,
    lastTerminated: r.last_terminated ? (JSON.parse(r.last_terminated) as ContainerStateView) : undefined,
  };
}
