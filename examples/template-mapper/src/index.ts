/** The template mapper's public API. Its simulator is `../sim/index.ts`, never imported from here. */
export { counterMapper } from './mapper.js';
export { CounterProtocolConfig, CounterVisitorConfig, configDataSchemas } from './config.js';
export { createCounterDriver } from './driver.js';
