export * from './ports.js';
export * from './peers.js';
