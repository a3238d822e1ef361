/** The EdgeTwin pod agent: public API for edgecore (embedded mode) and the cloud link. */
export { PodAgent } from './agent.js';
export type { PodAgentOptions, PodAgentEvents, PodView, ApplyResult } from './agent.js';
export type { CrashBackoffOptions } from './container-slot.js';
export { parsePod, parseConfigMap, podKey } from './pod-parse.js';
export * from './pod-schema.js';
export type { PodStatus, PodPhase, PodCondition, ContainerStatusView, ContainerStateView } from './status.js';
export { AgentStore, type PodSource, type StoredPod, type StoredContainer } from './store.js';
export type { RuntimeName } from './runtime/types.js';
export { readManifestDir, MANIFEST_FILE_ANNOTATION } from './static-source.js';
export { agentPaths, DEFAULT_CONTAINERD_ADDRESS } from './paths.js';
export { logsCommand, CriLogDecoder } from './cli/logs.js';
export { imagesCommand, imagesImportCommand } from './cli/images-import.js';
export type { CliIo } from './cli/io.js';
export { selfRssBytes } from './runtime/proc.js';
