/** @edgetwin/mapper-zigbee/sim: a Z-Stack ZNP coordinator emulator with simulated devices (tests, the quickstart, `edgetwin-znp-emulator`). */
export { ZnpEmulator, startZnpEmulator, type ZnpEmulatorOptions } from './emulator.js';
export type { RegisteredEndpoint } from './coordinator-state.js';
export { SimDevice, type SimDeviceSpec, type SimEndpoint, type AttributeValue } from './sim-device.js';
export { temperatureHumiditySensor, onOffPlug } from './catalogue.js';
