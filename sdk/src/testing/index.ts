export * from './ports.js';
export * from './peers.js';
export * from './clocks.js';
export * from './logs.js';
export * from './dmi-side.js';
export * from './conformance.js';
export * from './kube.js';
export * from './mosquitto-clients.js';
