export * from './protocol.js';
export * from './store.js';
export * from './agent.js';
