/** `@edgetwin/sdk/mapper`: the mapper runtime, everything a protocol mapper package needs besides its driver. */
export * from './types.js';
export { runMapper, type RunMapperOptions, type MapperHandle, type MapperDeviceStatus } from './runtime.js';
export { mapperCli, parseMapperArgs, mapperUsage } from './cli.js';
export { toMapperDevice, DEFAULT_COLLECT_CYCLE_MS, MAX_CYCLE_MS } from './device-config.js';
export type { DeviceState } from './device-worker.js';
export { callWithTimeout, type CallOptions } from './call.js';
