/**
 * The node flags edgecore starts its mappers with. A mapper is I/O-bound and small, and there are
 * up to four of them; V8's defaults are tuned for throughput in one big process. Measured with
 * `npm run bench:footprint` (figures in the root README, "Memory"), each flag for itself:
 *
 * - `--max-semi-space-size=1`: the young generation stays at 2 x 1 MiB instead of growing to
 *   2 x 16 MiB during start-up (loading a protocol library allocates a lot) and never shrinking
 *   back. About 15 MB less per mapper, the largest single saving.
 * - `--optimize-for-size`: after each full GC the old generation is sized close to the live heap
 *   and compacted more; the optimizing compiler inlines less.
 * - `--single-threaded`: no concurrent marking, compilation or parallel scavenging threads, and
 *   none of the memory they hold. A mapper's collections are small, so its main thread barely
 *   notices.
 *
 * Together about 100 MB less PSS for the quickstart's four mappers, at similar CPU. Not chosen:
 * `--no-opt` (about 1.5 MB less per mapper, six times the OPC UA mapper's CPU) and `--jitless`.
 *
 * EDGETWIN_MAPPER_NODE_FLAGS replaces them (space-separated; empty: node's defaults).
 */
export const MAPPER_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=1',
  '--optimize-for-size',
  '--single-threaded',
];

/** The flags to start a node mapper with: EDGETWIN_MAPPER_NODE_FLAGS when set, else MAPPER_NODE_FLAGS. */
export function mapperNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const override = env.EDGETWIN_MAPPER_NODE_FLAGS;
  if (override === undefined) return [...MAPPER_NODE_FLAGS];
  return override.split(/\s+/).filter(Boolean);
}
