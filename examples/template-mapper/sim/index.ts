/** The counter device simulator: for tests, demos and `sim/bin.ts`, which inject it; src/ never imports it. */
export { startCounterSimulator, type CounterSimulator } from './simulator.js';
