/** `@edgetwin/sdk/mqtt`: the project's MQTT 3.1.1 client (see the sdk README) and mqtt-packet tuning. */
export * from './connection.js';
export * from './mqtt-packet-memory.js';
