import type { TourCredentials } from './credentials.js';

/** The "what to try" text the quickstart prints; the same commands are in the root README. */

/** The console's address: the first thing the quickstart prints, and again once everything runs. */
export function printConsole(httpUrl: string): void {
  console.log(`\n  Console: open ${httpUrl}/ in a browser (devices, live values, history, mappers)\n`);
}

export function printTour(ports: { http: number; mqtt: number; modbus: number }, creds: TourCredentials): void {
  const api = `http://127.0.0.1:${ports.http}/api/v1`;
  const mq = `-h 127.0.0.1 -p ${ports.mqtt}`;
  const sub = `XDG_CONFIG_HOME=${creds.mqttConfigDir} mosquitto_sub`;
  const pub = `XDG_CONFIG_HOME=${creds.mqttConfigDir} mosquitto_pub`;
  const curl = `curl -s -H @${creds.httpHeaderFile}`;
  console.log(`
Security is on: MQTT clients need a user and the HTTP API a bearer token. The quickstart made both,
"tour": its MQTT user name and password are where mosquitto_sub and mosquitto_pub read their options
(${creds.mqttConfigDir}/), its token is in ${creds.httpHeaderFile} as a header for curl -H @FILE
(the console asks for that token once: paste what follows "Bearer ").

Try this in another terminal, from this directory:

  # the devices and one twin (desired, reported, delta, versions, state)
  ${curl} ${api}/devices
  ${curl} ${api}/devices/default/thermostat-1/twin

  # live values for edge apps (retained, JSON)
  ${sub} ${mq} -t 'devices/#' -v

  # set a desired setpoint; the mapper writes holding register 1 and the answer waits for the report
  ${curl} -X PATCH -H 'content-type: application/merge-patch+json' \\
    -d '{"setpoint": 25.5}' '${api}/devices/default/thermostat-1/twin/desired?wait=reported&timeout=5000'

  # see the register change on the device itself: mbpoll prints 255 (tenths of a degree)
  mbpoll -m tcp -p ${ports.modbus} -a 1 -t 4 -r 2 -c 1 -1 127.0.0.1

  # switch the heater coil from MQTT, and watch the KubeEdge twin protocol
  ${pub} ${mq} -t 'devices/default/thermostat-1/heater/set' -m true
  ${sub} ${mq} -t '$hw/events/device/default/thermostat-1/twin/update/#' -v

  # the other protocols work the same way: the ZigBee plug, the OPC UA pump, the BLE light
  ${curl} -X PATCH -H 'content-type: application/json' -d '{"power": true}' \\
    '${api}/devices/default/plug/twin/desired?wait=reported&timeout=5000'
  ${curl} -X PATCH -H 'content-type: application/json' -d '{"pump": true}' \\
    '${api}/devices/default/opcua-tank-1/twin/desired?wait=reported&timeout=5000'
  ${curl} -X PATCH -H 'content-type: application/json' -d '{"power": "ON"}' \\
    '${api}/devices/default/ble-light-1/twin/desired?wait=reported&timeout=5000'

Press Ctrl-C to stop.`);
}
