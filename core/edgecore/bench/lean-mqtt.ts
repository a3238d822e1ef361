/**
 * mqtt.js client options that cut its per-packet garbage, for the benchmarks' simulated `$hw`
 * mappers and the tests that drive edgecore with mqtt.js: its debug() logging builds an argument
 * array on every call even when disabled, and it re-arms the keepalive timer after every packet
 * sent. With these, PINGREQ simply goes out every keepalive period. (DEBUG=mqttjs* then shows
 * nothing for this client.) Production code uses the sdk's own client (`@edgetwin/sdk/mqtt`).
 */
export const LEAN_MQTT_OPTIONS = { log: () => undefined, reschedulePings: false } as const;
