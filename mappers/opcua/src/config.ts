/**
 * configData of OPC UA devices: the protocol schema (endpoint, security, identity, PKI) and the
 * visitor schema (which node a property reads and writes, and how it is collected). One TypeBox
 * schema each gives the type, the validation and the defaults.
 */
import type { SchemaOptions, Static, TLiteral, TUnion } from '@sinclair/typebox';
import { EdgeTwinError, type ConfigDataSchemas } from '@edgetwin/sdk';
import { Type } from '@edgetwin/sdk/typebox';

export const SecurityModeNames = ['None', 'Sign', 'SignAndEncrypt'] as const;
export type SecurityModeName = (typeof SecurityModeNames)[number];
export const SecurityPolicyNames = ['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'] as const;
export type SecurityPolicyName = (typeof SecurityPolicyNames)[number];

/** Scalar OPC UA data types the mapper reads and writes. */
export const OpcuaDataTypeNames = [
  'Boolean',
  'SByte',
  'Byte',
  'Int16',
  'UInt16',
  'Int32',
  'UInt32',
  'Int64',
  'UInt64',
  'Float',
  'Double',
  'String',
  'DateTime',
  'ByteString',
] as const;
export type OpcuaDataTypeName = (typeof OpcuaDataTypeNames)[number];

function literals<const T extends readonly string[]>(values: T, opts: SchemaOptions): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    opts,
  );
}

export const OpcuaProtocolConfigSchema = Type.Object(
  {
    url: Type.String({ pattern: '^opc\\.tcp://.+', description: 'Endpoint URL, e.g. opc.tcp://plc:4840/path.' }),
    securityMode: literals(SecurityModeNames, { default: 'None', description: 'Message security mode.' }),
    securityPolicy: Type.Optional(
      literals(SecurityPolicyNames, {
        description: 'Security policy; default None with securityMode None, else Basic256Sha256.',
      }),
    ),
    userName: Type.Optional(Type.String({ minLength: 1, description: 'User name; absent means anonymous.' })),
    passwordFile: Type.Optional(Type.String({ minLength: 1, description: 'File holding the password.' })),
    passwordEnv: Type.Optional(
      Type.String({ minLength: 1, description: 'Environment variable holding the password.' }),
    ),
    certificateFile: Type.Optional(
      Type.String({ minLength: 1, description: 'Client certificate (PEM); generated into pkiDir when absent.' }),
    ),
    privateKeyFile: Type.Optional(Type.String({ minLength: 1, description: 'Client private key (PEM).' })),
    pkiDir: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'PKI folder (trusted/certs is the trust list); default <dataDir>/opcua-pki.',
      }),
    ),
    timeoutMs: Type.Integer({ minimum: 100, default: 10_000, description: 'Timeout of connect and each request.' }),
    keepAliveMs: Type.Integer({
      minimum: 100,
      default: 5_000,
      description: 'Session keep-alive interval; a missed keep-alive reports the link lost.',
    }),
  },
  { additionalProperties: false },
);
export type OpcuaProtocolConfig = Static<typeof OpcuaProtocolConfigSchema>;

export const OpcuaVisitorConfigSchema = Type.Object(
  {
    nodeID: Type.Optional(
      Type.String({ minLength: 1, description: 'Node id, e.g. ns=2;s=Tank.Level or ns=2;i=1001.' }),
    ),
    browsePath: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Browse path from the Root folder, e.g. /Objects/2:Plant/2:Tank/2:Level.',
      }),
    ),
    dataType: Type.Optional(
      literals(OpcuaDataTypeNames, { description: 'Node data type; read from the server when absent.' }),
    ),
    collect: literals(['subscribe', 'poll'] as const, {
      default: 'subscribe',
      description: 'subscribe: monitored item (default); poll: read every collectCycle.',
    }),
    deadbandType: literals(['None', 'Absolute', 'Percent'] as const, { default: 'None' }),
    deadbandValue: Type.Number({ minimum: 0, default: 0 }),
  },
  { additionalProperties: false },
);
export type OpcuaVisitorConfig = Static<typeof OpcuaVisitorConfigSchema>;

/** Security settings after defaults and cross-field checks. */
export interface ResolvedSecurity {
  mode: SecurityModeName;
  policy: SecurityPolicyName;
}

function invalid(device: string, path: string, message: string): EdgeTwinError {
  return new EdgeTwinError('ET_CONFIG_INVALID', `Device ${device}: protocol configData ${path}: ${message}`, {
    details: { path: `/spec/protocol/configData${path}` },
  });
}

/** Checks what the schema cannot express; throws ET_CONFIG_INVALID naming the field. */
export function resolveSecurity(device: string, cfg: OpcuaProtocolConfig): ResolvedSecurity {
  const mode = cfg.securityMode;
  const policy = cfg.securityPolicy ?? (mode === 'None' ? 'None' : 'Basic256Sha256');
  if (mode === 'None' && policy !== 'None') {
    throw invalid(
      device,
      '/securityPolicy',
      `securityMode None needs securityPolicy None (got ${policy}); set securityMode Sign or SignAndEncrypt`,
    );
  }
  if (mode !== 'None' && policy === 'None') {
    throw invalid(
      device,
      '/securityPolicy',
      `securityMode ${mode} needs a securityPolicy other than None, e.g. Basic256Sha256`,
    );
  }
  if ((cfg.certificateFile === undefined) !== (cfg.privateKeyFile === undefined)) {
    throw invalid(
      device,
      '/certificateFile',
      'give both certificateFile and privateKeyFile, or neither (then one is generated)',
    );
  }
  if (cfg.userName === undefined && (cfg.passwordFile !== undefined || cfg.passwordEnv !== undefined)) {
    throw invalid(device, '/userName', 'a password is configured but no userName');
  }
  if (cfg.userName !== undefined && cfg.passwordFile === undefined && cfg.passwordEnv === undefined) {
    throw invalid(device, '/passwordFile', `userName ${cfg.userName} needs passwordFile or passwordEnv`);
  }
  if (cfg.passwordFile !== undefined && cfg.passwordEnv !== undefined) {
    throw invalid(device, '/passwordEnv', 'give passwordFile or passwordEnv, not both');
  }
  return { mode, policy };
}

/** Checks a property's visitor: exactly one of nodeID and browsePath. */
export function checkVisitor(device: string, property: string, v: OpcuaVisitorConfig): void {
  if ((v.nodeID === undefined) === (v.browsePath === undefined)) {
    throw new EdgeTwinError(
      'ET_CONFIG_INVALID',
      `Device ${device}: property ${property}: visitor configData needs exactly one of nodeID (e.g. ns=2;s=Tank.Level) and browsePath`,
      { details: { property, path: '/visitors/configData/nodeID' } },
    );
  }
}

/**
 * Both configData schemas, the package's `./config` entry: edgecore imports it (lazily, when this
 * package is installed) to check each Device's configData when its devices directory loads. This
 * module depends on the sdk and TypeBox only, never on the protocol library.
 */
export const configDataSchemas = {
  protocol: OpcuaProtocolConfigSchema,
  visitor: OpcuaVisitorConfigSchema,
} satisfies ConfigDataSchemas;
