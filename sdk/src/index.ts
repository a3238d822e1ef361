/**
 * `@edgetwin/sdk`: the contract both ends share. Resource schemas and types (Device, DeviceModel),
 * their validation and resolution, typed twin values and their bounds, write outcomes, and the
 * KubeEdge `$hw` MQTT wire protocol (topics and payload codecs). The other entry points:
 * `./mapper` (the mapper runtime), `./mqtt` (the project's MQTT client), `./dmi` (the DMI proto),
 * `./util` (clock, backoff, logging and /proc helpers), `./testing` (the testing kit).
 */
export * from './errors.js';
export * from './schema/resources.js';
export * from './schema/validate.js';
export * from './schema/resolve.js';
export * from './schema/values.js';
export * from './schema/limits.js';
export * from './schema/write-status.js';
export * from './hw/topics.js';
export * from './hw/messages.js';
export * from './hw/pairing.js';
