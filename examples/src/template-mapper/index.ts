export { counterMapper, CounterProtocolConfig, CounterVisitorConfig } from './mapper.js';
export { startCounterSimulator, type CounterSimulator } from './simulator.js';
