/** Shared setup for the pod agent tests: temp dirs, a quiet logger, writing manifests. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { PodAgent, type PodAgentOptions } from '@edgetwin/agent';

export const quietLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `edgetwin-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function newAgent(dataDir: string, extra: Partial<PodAgentOptions> = {}): PodAgent {
  return new PodAgent({
    dataDir,
    nodeName: 'edge-test',
    logger: quietLogger,
    runtime: 'process',
    syncIntervalMs: 100,
    podsDirScanMs: 200,
    crashBackoff: { initialMs: 400, maxMs: 5000, resetAfterMs: 60_000 },
    ...extra,
  });
}

export interface PodOpts {
  name: string;
  namespace?: string;
  containers: Record<string, unknown>[];
  spec?: Record<string, unknown>;
}

export function pod(o: PodOpts): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: o.name, namespace: o.namespace ?? 'default' },
    spec: { containers: o.containers, ...o.spec },
  };
}

export function writeManifest(dir: string, file: string, ...docs: unknown[]): void {
  writeFileSync(join(dir, file), docs.map((d) => stringify(d)).join('---\n'));
}

/** Is a pid alive (and not a zombie)? */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
