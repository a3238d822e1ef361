export { CloudCore, DEFAULT_CLOUD_PORT, type CloudCoreOptions } from './cloudcore.js';
export { cloudCommand, parseDuration, type CloudCommandIo } from './cli.js';
export { CloudStateStore, type NodeRecord } from './state-store.js';
export { NodeSync, specVersion } from './node-sync.js';
export { groupUpstream, type DeviceUpstream } from './upstream.js';
