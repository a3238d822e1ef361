export { ZnpEmulator, startZnpEmulator, type ZnpEmulatorOptions, type RegisteredEndpoint } from './emulator.js';
export { SimDevice, type SimDeviceSpec, type SimEndpoint, type AttributeValue } from './sim-device.js';
export { temperatureHumiditySensor, onOffPlug } from './catalogue.js';
