/** @edgetwin/mapper-ble/sim: simulated BLE peripherals driven through noble's bindings (tests, the quickstart, `edgetwin-ble-simulator`). */
export {
  SimWorld,
  SimPeripheral,
  SimCharacteristic,
  type SimPeripheralInit,
  type SimServiceInit,
  type SimCharacteristicInit,
} from './world.js';
export { SimBindings, type SimBindingsOptions } from './bindings.js';
export {
  DEMO,
  addDemoPeripherals,
  runSensor,
  startDemoWorld,
  openDemoBindings,
  type DemoOptions,
  type DemoPeripherals,
} from './demo.js';
export { startBleSimulator, NOBLE_WEBSOCKET_PORT, type BleSimulator, type BleSimulatorOptions } from './ws-server.js';
