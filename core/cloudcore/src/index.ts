export { CloudCore, DEFAULT_CLOUD_PORT, type CloudCoreOptions } from './cloudcore.js';
export { cloudCommand, parseDuration, type CloudCommandIo } from './cli.js';
export { CloudStateStore, type NodeRecord, type AdmitResult } from './state-store.js';
export {
  JoinTokens,
  joinTokenId,
  type JoinTokenRecord,
  type JoinTokenStatus,
  type CreateJoinTokenOptions,
} from './join-tokens.js';
export { CloudCa, DEFAULT_NODE_CERT_LIFETIME_MS, type IssuedCert } from './cloud-ca.js';
export { NodeSync, specVersion } from './node-sync.js';
export { groupUpstream, type DeviceUpstream } from './upstream.js';
export { CoreApiSync, type CoreApiSyncOptions } from './core-api-sync.js';
export {
  NodeLifecycle,
  EDGE_ROLE_LABEL,
  NODE_LEASE_NAMESPACE,
  DEFAULT_NODE_GRACE_MS,
  type NodeLifecycleOptions,
} from './node-lifecycle.js';
export { PodRelay, type KubePod, type PodRelayOptions } from './pod-relay.js';
export { PodStatusWriter, podPath } from './k8s/index.js';
export {
  CloudHub,
  type CloudHubOptions,
  type HubAuth,
  type HubHandler,
  type HubSession,
  type NodeCertIssuer,
} from './hub/cloud-hub.js';
export { TickCoalescer } from './tick-coalescer.js';
