/**
 * The object store of the core API simulator: core/v1 Nodes, Pods, ConfigMaps and
 * coordination.k8s.io/v1 Leases with the API server behaviour cloudcore relies on: one global
 * resourceVersion, create (409 AlreadyExists), update with resourceVersion (409 Conflict when
 * stale), JSON merge patch with resourceVersion/uid preconditions, status subresources, graceful
 * pod deletion (deletionTimestamp first, removal at grace 0), and an event history that watches
 * replay from a resourceVersion until it is compacted (then 410 Gone).
 */
import { randomUUID } from 'node:crypto';

export interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    labels?: Record<string, string>;
    [k: string]: unknown;
  };
  spec?: unknown;
  status?: unknown;
  [k: string]: unknown;
}

export interface ResourceDef {
  plural: string;
  kind: string;
  apiVersion: string;
  namespaced: boolean;
  hasStatus: boolean;
}

export const RESOURCES: Record<string, ResourceDef> = {
  nodes: { plural: 'nodes', kind: 'Node', apiVersion: 'v1', namespaced: false, hasStatus: true },
  pods: { plural: 'pods', kind: 'Pod', apiVersion: 'v1', namespaced: true, hasStatus: true },
  configmaps: { plural: 'configmaps', kind: 'ConfigMap', apiVersion: 'v1', namespaced: true, hasStatus: false },
  leases: { plural: 'leases', kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', namespaced: true, hasStatus: false },
};

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
  }
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface Change {
  rv: number;
  plural: string;
  type: EventType;
  old: Obj | undefined;
  object: Obj;
}

/** `a=b,c!=d` on dotted field paths, as the API server supports for selected fields. */
export type Selector = (o: Obj) => boolean;

function field(o: unknown, path: string): string {
  let v: unknown = o;
  for (const p of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

export function fieldSelector(s: string | null): Selector {
  const terms = (s ?? '')
    .split(',')
    .filter(Boolean)
    .map((t) => {
      const m = /^([\w.]+)\s*(!=|==|=)\s*(.*)$/.exec(t);
      if (!m) throw new ApiError(400, 'BadRequest', `invalid field selector "${t}"`);
      return { path: m[1]!, neg: m[2] === '!=', value: m[3]! };
    });
  return (o) => terms.every((t) => (field(o, t.path) === t.value) !== t.neg);
}

export function labelSelector(s: string | null): Selector {
  const terms = (s ?? '')
    .split(',')
    .filter(Boolean)
    .map((t) => {
      const m = /^(!?)([\w./-]+)\s*(?:(!=|==|=)\s*(.*))?$/.exec(t);
      if (!m) throw new ApiError(400, 'BadRequest', `invalid label selector "${t}"`);
      return { not: m[1] === '!', key: m[2]!, op: m[3], value: m[4] ?? '' };
    });
  return (o) =>
    terms.every((t) => {
      const v = o.metadata.labels?.[t.key];
      if (t.op === undefined) return t.not ? v === undefined : v !== undefined;
      return (v === t.value) !== (t.op === '!=');
    });
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const conflict = (def: ResourceDef, name: string): ApiError =>
  new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${def.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
  );

export class CoreApiStore {
  private rv = 100;
  private readonly objects = new Map<string, Map<string, Obj>>();
  private history: Change[] = [];
  /** Watches from a resourceVersion older than this get 410 Gone. */
  private oldestRv = 100;
  private readonly listeners = new Set<(c: Change) => void>();

  get resourceVersion(): string {
    return String(this.rv);
  }

  private table(plural: string): Map<string, Obj> {
    let t = this.objects.get(plural);
    if (!t) this.objects.set(plural, (t = new Map<string, Obj>()));
    return t;
  }

  private def(plural: string): ResourceDef {
    const d = RESOURCES[plural];
    if (!d) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${plural})`);
    return d;
  }

  private key(def: ResourceDef, ns: string | undefined, name: string): string {
    return def.namespaced ? `${ns ?? 'default'}/${name}` : name;
  }

  onChange(fn: (c: Change) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private record(plural: string, type: EventType, old: Obj | undefined, object: Obj): void {
    const c: Change = { rv: Number(object.metadata.resourceVersion), plural, type, old, object };
    this.history.push(c);
    for (const fn of this.listeners) fn(c);
  }

  /** Forgets the event history, as etcd compaction does: older watches must list again. */
  compact(): void {
    this.history = [];
    this.oldestRv = this.rv;
  }

  /** Changes after `rv` for one resource; undefined when that history is compacted (410). */
  changesSince(plural: string, rv: number): Change[] | undefined {
    if (rv < this.oldestRv) return undefined;
    return this.history.filter((c) => c.plural === plural && c.rv > rv);
  }

  list(plural: string, ns: string | undefined, select: Selector): Obj[] {
    const def = this.def(plural);
    return [...this.table(plural).values()]
      .filter((o) => !def.namespaced || ns === undefined || o.metadata.namespace === ns)
      .filter(select)
      .map((o) => structuredClone(o));
  }

  get(plural: string, ns: string | undefined, name: string): Obj {
    const def = this.def(plural);
    const o = this.table(plural).get(this.key(def, ns, name));
    if (!o) throw new ApiError(404, 'NotFound', `${def.plural} "${name}" not found`);
    return structuredClone(o);
  }

  create(plural: string, ns: string | undefined, body: Obj): Obj {
    const def = this.def(plural);
    const name = body.metadata?.name;
    if (!name) throw new ApiError(422, 'Invalid', `${def.kind} is invalid: metadata.name: Required value`);
    const k = this.key(def, ns, name);
    if (this.table(plural).has(k)) throw new ApiError(409, 'AlreadyExists', `${def.plural} "${name}" already exists`);
    const o = structuredClone(body);
    o.apiVersion = def.apiVersion;
    o.kind = def.kind;
    if (def.namespaced) o.metadata.namespace = ns ?? 'default';
    else delete o.metadata.namespace;
    o.metadata.uid = randomUUID();
    o.metadata.generation = 1;
    o.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    o.metadata.resourceVersion = String(++this.rv);
    delete o.metadata.deletionTimestamp;
    if (plural === 'pods') o.status = { phase: 'Pending', ...(o.status as object | undefined) };
    this.table(plural).set(k, o);
    this.record(plural, 'ADDED', undefined, o);
    return structuredClone(o);
  }

  /** Writes a new version of an existing object, keeping what the request may not change. */
  private write(def: ResourceDef, cur: Obj, next: Obj, sub: 'status' | undefined, preconditionRv?: string): Obj {
    if (preconditionRv !== undefined && preconditionRv !== cur.metadata.resourceVersion)
      throw conflict(def, cur.metadata.name);
    if (next.metadata.uid !== undefined && next.metadata.uid !== cur.metadata.uid) {
      throw new ApiError(
        409,
        'Conflict',
        `Precondition failed: UID in precondition: ${next.metadata.uid}, UID in object meta: ${cur.metadata.uid}`,
      );
    }
    let o: Obj;
    if (sub === 'status') {
      o = { ...structuredClone(cur), status: structuredClone(next.status) };
    } else {
      o = { ...structuredClone(next), metadata: { ...structuredClone(next.metadata) } };
      if (def.hasStatus) o.status = structuredClone(cur.status);
      for (const k of [
        'uid',
        'creationTimestamp',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
        'namespace',
        'name',
      ])
        o.metadata[k] = cur.metadata[k];
      if (cur.metadata.deletionTimestamp === undefined) delete o.metadata.deletionTimestamp;
      if (cur.metadata.deletionGracePeriodSeconds === undefined) delete o.metadata.deletionGracePeriodSeconds;
      if (cur.metadata.namespace === undefined) delete o.metadata.namespace;
      const specChanged = JSON.stringify(o.spec) !== JSON.stringify(cur.spec);
      o.metadata.generation = (cur.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    }
    o.apiVersion = def.apiVersion;
    o.kind = def.kind;
    if (JSON.stringify(o) === JSON.stringify(cur)) return structuredClone(cur); // no-op: no new version
    o.metadata.resourceVersion = String(++this.rv);
    this.table(def.plural).set(this.key(def, cur.metadata.namespace, cur.metadata.name), o);
    this.record(def.plural, 'MODIFIED', cur, o);
    return structuredClone(o);
  }

  /** PUT: a replace; a stale metadata.resourceVersion gets 409. */
  update(plural: string, ns: string | undefined, name: string, body: Obj, sub?: 'status'): Obj {
    const def = this.def(plural);
    const cur = this.get(plural, ns, name);
    if (body.metadata?.name !== undefined && body.metadata.name !== name)
      throw new ApiError(
        400,
        'BadRequest',
        `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
      );
    return this.write(def, cur, { ...body, metadata: { ...body.metadata, name } }, sub, body.metadata?.resourceVersion);
  }

  /** PATCH with application/merge-patch+json; metadata.resourceVersion and metadata.uid are preconditions. */
  patch(plural: string, ns: string | undefined, name: string, patch: unknown, sub?: 'status'): Obj {
    const def = this.def(plural);
    const cur = this.get(plural, ns, name);
    const meta = (patch as { metadata?: { resourceVersion?: string; uid?: string } } | null)?.metadata;
    const next = mergePatch(cur, patch) as Obj;
    const uid = meta?.uid ?? cur.metadata.uid;
    if (uid !== undefined) next.metadata.uid = uid;
    return this.write(def, cur, next, sub, meta?.resourceVersion);
  }

  /**
   * DELETE. A pod bound to a node is first marked (deletionTimestamp, grace period) for its
   * kubelet to stop it; it goes away at grace period 0. Everything else goes at once.
   */
  delete(
    plural: string,
    ns: string | undefined,
    name: string,
    opts: { gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string } } = {},
  ): Obj {
    const def = this.def(plural);
    const cur = this.get(plural, ns, name);
    const pre = opts.preconditions;
    if (pre?.uid !== undefined && pre.uid !== cur.metadata.uid)
      throw new ApiError(
        409,
        'Conflict',
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`,
      );
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== cur.metadata.resourceVersion)
      throw conflict(def, name);
    const spec = (cur.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
    const grace = opts.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
    if (plural === 'pods' && spec.nodeName && grace > 0) {
      if (cur.metadata.deletionTimestamp) return cur;
      const o = structuredClone(cur);
      o.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      o.metadata.deletionGracePeriodSeconds = grace;
      o.metadata.resourceVersion = String(++this.rv);
      this.table(plural).set(this.key(def, ns, name), o);
      this.record(plural, 'MODIFIED', cur, o);
      return structuredClone(o);
    }
    this.table(plural).delete(this.key(def, ns, name));
    const gone = structuredClone(cur);
    gone.metadata.resourceVersion = String(++this.rv);
    this.record(plural, 'DELETED', cur, gone);
    return gone;
  }
}
