/**
 * ETags of a twin: `"d{desiredVersion}-r{reportedVersion}"`. `If-Match` on a desired patch is
 * compared with the DESIRED version only, so reported updates arriving meanwhile never make it
 * stale. Accepted forms: `*`, `"d12-r40"`, `W/"d12-r40"`, `"d12"`, `"12"`, or a comma list.
 */
import { EdgeTwinError } from '@edgetwin/sdk';
import type { TwinSnapshot } from '../types.js';

export function twinEtag(s: Pick<TwinSnapshot, 'desiredVersion' | 'reportedVersion'>): string {
  return `"d${s.desiredVersion}-r${s.reportedVersion}"`;
}

/** The desired versions named by an If-Match header; undefined for `*` or no header. */
export function parseIfMatch(header: string | undefined): number[] | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const versions: number[] = [];
  for (const part of header.split(',')) {
    const m = /^\s*(?:W\/)?"d?(\d+)(?:-r\d+)?"\s*$/.exec(part);
    if (m) versions.push(Number(m[1]));
  }
  if (versions.length === 0) {
    throw new EdgeTwinError(
      'ET_PRECONDITION',
      `If-Match ${JSON.stringify(header)} is not a twin ETag; use the ETag of GET .../twin, e.g. "d3-r10"`,
    );
  }
  return versions;
}

/** The version to require: the current one when any listed version matches, else the first. */
export function requiredVersion(versions: number[] | undefined, current: number): number | undefined {
  if (!versions) return undefined;
  return versions.includes(current) ? current : versions[0];
}
