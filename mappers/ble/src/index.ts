/** @edgetwin/mapper-ble: the Bluetooth LE mapper (protocolName `bluetooth`). The simulator is the `./sim` entry. */
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
export {
  bindingsFromEnv,
  type BindingsChoice,
  type OpenBindings,
  type OpenedBindings,
} from './transport/load-noble.js';
export type { NobleBindings, AdapterState, CharacteristicProperty } from './transport/noble-types.js';
