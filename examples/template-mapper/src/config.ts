/**
 * The counter mapper's configData schemas (TypeBox: types, validation and defaults in one place).
 * This file imports the sdk and TypeBox only, never the protocol's library: it is the package's
 * `./config` entry, which edgecore loads to check Devices when its devices directory loads.
 */
import { Type } from '@sinclair/typebox';
import type { ConfigDataSchemas } from '@edgetwin/sdk';

/** spec.protocol.configData (merged with the model's protocolConfigData). */
export const CounterProtocolConfig = Type.Object({
  host: Type.String({ default: '127.0.0.1', description: 'Host of the counter device.' }),
  port: Type.Integer({ minimum: 1, maximum: 65535, description: 'TCP port of the counter device.' }),
});

/** spec.properties[].visitors.configData: which register holds the property. */
export const CounterVisitorConfig = Type.Object({
  register: Type.String({ pattern: '^[a-z][a-z0-9_]*$', description: 'Register name, e.g. "count".' }),
});

/** Both schemas, as edgecore's devices loader reads them from `./config`. */
export const configDataSchemas = {
  protocol: CounterProtocolConfig,
  visitor: CounterVisitorConfig,
} satisfies ConfigDataSchemas;
