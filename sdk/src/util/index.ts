/** `@edgetwin/sdk/util`: small runtime helpers every daemon and mapper uses. */
export * from './clock.js';
export { Backoff, retry, type BackoffOptions, type RetryOptions } from './backoff.js';
export * from './repeated-log.js';
export * from './deadline.js';
export * from './proc.js';
export * from './heap.js';
export * from './private-file.js';
