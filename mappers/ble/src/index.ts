/** @edgetwin/mapper-ble: the Bluetooth LE mapper (protocolName `bluetooth`) and its simulator. */
export { bleMapper, createBleMapper } from './mapper.js';
export { createBleDriver, type BleDriverOptions } from './driver/driver.js';
export {
  BLE_PROTOCOL,
  BindingsKinds,
  type BindingsKind,
  BleProtocolConfigSchema,
  type BleProtocolConfig,
  BleVisitorConfigSchema,
  type BleVisitorConfig,
  DataConverterSchema,
  type DataConverter,
  TypedCodecSchema,
  type TypedCodec,
  CodecFormats,
  type CodecFormat,
  normalizeMac,
  normalizeUuid,
} from './config.js';
export { propertyCodec, type PropertyCodec, type CodecProperty } from './codec/property-codec.js';
export { convertKubeEdge } from './codec/data-converter.js';
export { decodeTyped, encodeTyped, type Decoded } from './codec/typed-codec.js';
export { bindingsFromEnv, type BindingsChoice } from './transport/load-noble.js';
export type { NobleBindings, AdapterState, CharacteristicProperty } from './transport/noble-types.js';
export {
  SimWorld,
  SimPeripheral,
  SimCharacteristic,
  type SimPeripheralInit,
  type SimServiceInit,
  type SimCharacteristicInit,
} from './sim/world.js';
export { SimBindings, type SimBindingsOptions } from './sim/bindings.js';
export {
  DEMO,
  addDemoPeripherals,
  runSensor,
  startDemoWorld,
  type DemoOptions,
  type DemoPeripherals,
} from './sim/demo.js';
export {
  startBleSimulator,
  NOBLE_WEBSOCKET_PORT,
  type BleSimulator,
  type BleSimulatorOptions,
} from './sim/ws-server.js';
