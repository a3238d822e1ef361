export * from './crd.js';
export * from './kube-client.js';
export * from './informer.js';
export * from './coalescing-patcher.js';
export * from './status-writer.js';
export * from './device-controller.js';
export * from './pod-status-writer.js';
