/**
 * Static pods: Pod (and ConfigMap) manifests in a directory, like the kubelet's
 * `--pod-manifest-path`. The directory is rescanned on an interval (and on fs.watch events);
 * adding a file starts its pods, changing one recreates them, removing one deletes them.
 * A bad file is reported once per content, with its name and the offending field.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { EdgeTwinError, errorMessage } from '@edgetwin/sdk';
import { parseAllDocuments } from 'yaml';
import { parseConfigMap, parsePod } from './pod-parse.js';
import type { ConfigMap, Pod } from './pod-schema.js';

export interface ManifestSet {
  pods: Pod[];
  configMaps: ConfigMap[];
  errors: EdgeTwinError[];
  /** Files that had an error: their pods are kept as they were, not deleted. */
  failedFiles: Set<string>;
  /** The directory itself could not be read: nothing may be concluded about its pods. */
  unreadable: boolean;
}

/** Annotation naming the manifest file a static pod came from. */
export const MANIFEST_FILE_ANNOTATION = 'edgetwin.io/manifest-file';

/** Reads every *.yaml, *.yml and *.json file of `dir`. */
export function readManifestDir(dir: string): ManifestSet {
  const set: ManifestSet = { pods: [], configMaps: [], errors: [], failedFiles: new Set(), unreadable: false };
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => /\.(ya?ml|json)$/.test(f) && !f.startsWith('.'))
      .sort();
  } catch (err) {
    set.unreadable = true;
    set.errors.push(
      new EdgeTwinError('ET_CONFIG_INVALID', `pods directory ${dir} cannot be read: ${errorMessage(err)}`, {
        cause: err,
        details: { file: dir },
      }),
    );
    return set;
  }
  for (const f of files) {
    const file = join(dir, f);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // removed between readdir and read
    }
    const docs = parseAllDocuments(text);
    for (const [i, doc] of docs.entries()) {
      if (doc.errors.length > 0) {
        set.failedFiles.add(file);
        set.errors.push(
          new EdgeTwinError('ET_YAML_PARSE', `${file} document ${i}: ${doc.errors[0]?.message ?? 'invalid YAML'}`, {
            details: { file, document: i },
          }),
        );
        continue;
      }
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) continue;
      const kind = (value as { kind?: unknown }).kind;
      try {
        if (kind === 'Pod') {
          const pod = parsePod(value, `${f} document ${i}`, { file, document: i });
          pod.metadata.annotations = { ...pod.metadata.annotations, [MANIFEST_FILE_ANNOTATION]: file };
          set.pods.push(pod);
        } else if (kind === 'ConfigMap') set.configMaps.push(parseConfigMap(value, `${f} document ${i}`));
        else {
          set.errors.push(
            new EdgeTwinError(
              'ET_CONFIG_INVALID',
              `${file} document ${i}: kind ${String(kind)} is not handled by the pod agent; only Pod and ConfigMap`,
              {
                details: { file, document: i, path: '/kind' },
              },
            ),
          );
        }
      } catch (err) {
        if (!(err instanceof EdgeTwinError)) throw err;
        set.failedFiles.add(file);
        set.errors.push(err);
      }
    }
  }
  return set;
}

export class StaticPodSource {
  private timer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private reported = new Set<string>();
  private scanning = false;

  constructor(
    private readonly dir: string,
    private readonly intervalMs: number,
    private readonly onScan: (set: ManifestSet) => Promise<void>,
    private readonly onError: (err: EdgeTwinError) => void,
  ) {}

  async start(): Promise<void> {
    await this.scan();
    try {
      this.watcher = watch(this.dir, () => void this.scan());
      this.watcher.on('error', () => undefined);
    } catch {
      // Polling alone still works.
    }
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.scan().finally(() => {
        if (this.timer) this.schedule();
      });
    }, this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }

  async scan(): Promise<void> {
    if (this.scanning) return;
    this.scanning = true;
    try {
      const set = readManifestDir(this.dir);
      const seen = new Set<string>();
      for (const e of set.errors) {
        const id = createHash('sha1').update(e.message).digest('hex');
        seen.add(id);
        if (!this.reported.has(id)) this.onError(e);
      }
      this.reported = seen;
      // An unreadable directory (unmounted, permissions) must not delete the pods it held.
      if (!set.unreadable) await this.onScan(set);
    } finally {
      this.scanning = false;
    }
  }
}
