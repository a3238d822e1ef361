/** `@edgetwin/sdk/mqtt`: the project's MQTT 3.1.1 client (see the sdk README). */
export * from './connection.js';
