export * from './store.js';
export * from './agent.js';
