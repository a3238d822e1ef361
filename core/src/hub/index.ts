export {
  CloudHub,
  NODE_HEADER,
  type CloudHubOptions,
  type HubAuth,
  type HubHandler,
  type HubSession,
  type NodeCertIssuer,
} from './cloud-hub.js';
export { NodeCredentials, RENEW_AT, type NodeCert } from './node-credentials.js';
export { EdgeHub, type EdgeHubOptions, type EdgeHubHandler, type TokenStore } from './edge-hub.js';
export { EdgeCloudSync, type EdgeCloudSyncOptions } from './edge-cloud-sync.js';
export { EdgePodRelay, type EdgePodRelayOptions } from './edge-pod-relay.js';
export * from './pod-link.js';
