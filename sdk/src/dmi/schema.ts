/**
 * The DMI v1beta1 messages and services as field tables, written by hand from
 * `proto/dmi-v1beta1.proto` (the wire contract: names and numbers must match it exactly; a test
 * loads the .proto with protobufjs and compares every field). `DMI_CODEC` encodes and decodes them.
 */
import { Codec, type FieldSpec, type ScalarType, type Schema } from './codec.js';

const s = (no: number, name: string, type: ScalarType): FieldSpec => ({ no, name, type });
const rs = (no: number, name: string, type: ScalarType): FieldSpec => ({ no, name, type, repeated: true });
const m = (no: number, name: string, message: string): FieldSpec => ({ no, name, type: 'message', message });
const rm = (no: number, name: string, message: string): FieldSpec => ({
  no,
  name,
  type: 'message',
  message,
  repeated: true,
});
/** `map<string, value>`: value `string` or a message name. */
const mapOf = (no: number, name: string, value: string): FieldSpec =>
  value === 'string'
    ? { no, name, type: 'string', mapKey: 'string' }
    : { no, name, type: 'message', message: value, mapKey: 'string' };

export const DMI_SCHEMA: Schema = {
  'google.protobuf.Any': [s(1, 'type_url', 'string'), s(2, 'value', 'bytes')],

  MapperRegisterRequest: [s(1, 'withData', 'bool'), m(2, 'mapper', 'MapperInfo')],
  MapperRegisterResponse: [rm(1, 'modelList', 'DeviceModel'), rm(2, 'deviceList', 'Device')],
  DeviceModel: [s(1, 'name', 'string'), m(2, 'spec', 'DeviceModelSpec'), s(3, 'namespace', 'string')],
  DeviceModelSpec: [rm(1, 'properties', 'ModelProperty'), rm(2, 'commands', 'DeviceCommand')],
  ModelProperty: [
    s(1, 'name', 'string'),
    s(2, 'description', 'string'),
    s(3, 'type', 'string'),
    s(4, 'accessMode', 'string'),
    s(5, 'minimum', 'string'),
    s(6, 'maximum', 'string'),
    s(7, 'unit', 'string'),
  ],
  DeviceCommand: [
    s(1, 'name', 'string'),
    s(2, 'url', 'string'),
    s(3, 'method', 'string'),
    rs(4, 'status_code', 'string'),
    rs(5, 'parameters', 'string'),
    s(6, 'response', 'bytes'),
  ],
  Device: [
    s(1, 'name', 'string'),
    m(2, 'spec', 'DeviceSpec'),
    m(3, 'status', 'DeviceStatus'),
    s(4, 'namespace', 'string'),
  ],
  DeviceSpec: [
    s(1, 'deviceModelReference', 'string'),
    m(2, 'protocol', 'ProtocolConfig'),
    rm(3, 'properties', 'DeviceProperty'),
    rm(4, 'methods', 'DeviceMethod'),
  ],
  DeviceMethod: [s(1, 'name', 'string'), s(2, 'description', 'string'), rs(3, 'propertyNames', 'string')],
  DeviceProperty: [
    s(1, 'name', 'string'),
    m(2, 'desired', 'TwinProperty'),
    m(3, 'visitors', 'VisitorConfig'),
    s(4, 'reportCycle', 'int64'),
    s(5, 'collectCycle', 'int64'),
    s(6, 'reportToCloud', 'bool'),
    m(7, 'pushMethod', 'PushMethod'),
  ],
  ProtocolConfig: [s(1, 'protocolName', 'string'), m(2, 'configData', 'CustomizedValue')],
  VisitorConfig: [s(1, 'protocolName', 'string'), m(2, 'configData', 'CustomizedValue')],
  CustomizedValue: [mapOf(1, 'data', 'google.protobuf.Any')],
  PushMethod: [
    m(1, 'http', 'PushMethodHTTP'),
    m(2, 'mqtt', 'PushMethodMQTT'),
    m(3, 'dbMethod', 'DBMethod'),
    m(4, 'otel', 'PushMethodOTEL'),
    m(5, 'anomalyDetection', 'AnomalyDetection'),
  ],
  PushMethodHTTP: [
    s(1, 'hostname', 'string'),
    s(2, 'port', 'int64'),
    s(3, 'requestpath', 'string'),
    s(4, 'timeout', 'int64'),
  ],
  PushMethodMQTT: [s(1, 'address', 'string'), s(2, 'topic', 'string'), s(3, 'qos', 'int32'), s(4, 'retained', 'bool')],
  PushMethodOTEL: [s(1, 'endpointURL', 'string')],
  DBMethod: [
    m(1, 'influxdb2', 'DBMethodInfluxdb2'),
    m(2, 'redis', 'DBMethodRedis'),
    m(3, 'tdengine', 'DBMethodTDEngine'),
    m(4, 'mysql', 'DBMethodMySQL'),
  ],
  DBMethodInfluxdb2: [
    m(1, 'influxdb2ClientConfig', 'Influxdb2ClientConfig'),
    m(2, 'influxdb2DataConfig', 'Influxdb2DataConfig'),
  ],
  Influxdb2DataConfig: [s(1, 'measurement', 'string'), mapOf(2, 'tag', 'string'), s(3, 'fieldKey', 'string')],
  Influxdb2ClientConfig: [s(1, 'url', 'string'), s(2, 'org', 'string'), s(3, 'bucket', 'string')],
  DBMethodRedis: [m(1, 'redisClientConfig', 'RedisClientConfig')],
  RedisClientConfig: [
    s(1, 'addr', 'string'),
    s(2, 'db', 'int32'),
    s(3, 'poolsize', 'int32'),
    s(4, 'minIdleConns', 'int32'),
  ],
  DBMethodTDEngine: [m(1, 'tdEngineClientConfig', 'TDEngineClientConfig')],
  TDEngineClientConfig: [s(1, 'addr', 'string'), s(2, 'dbname', 'string')],
  DBMethodMySQL: [m(1, 'mysqlClientConfig', 'MySQLClientConfig')],
  MySQLClientConfig: [s(1, 'addr', 'string'), s(2, 'database', 'string'), s(3, 'userName', 'string')],
  AnomalyDetection: [mapOf(1, 'data', 'google.protobuf.Any')],
  MapperInfo: [
    s(1, 'name', 'string'),
    s(2, 'version', 'string'),
    s(3, 'api_version', 'string'),
    s(4, 'protocol', 'string'),
    s(5, 'address', 'bytes'),
    s(6, 'state', 'string'),
  ],
  ReportDeviceStatusRequest: [
    s(1, 'deviceName', 'string'),
    m(2, 'reportedDevice', 'DeviceStatus'),
    s(3, 'deviceNamespace', 'string'),
  ],
  ReportDeviceStatesRequest: [s(1, 'deviceName', 'string'), s(2, 'deviceNamespace', 'string'), s(3, 'state', 'string')],
  DeviceStatus: [rm(1, 'twins', 'Twin'), s(2, 'reportToCloud', 'bool'), s(3, 'reportCycle', 'int64')],
  Twin: [s(1, 'propertyName', 'string'), m(2, 'observedDesired', 'TwinProperty'), m(3, 'reported', 'TwinProperty')],
  TwinProperty: [s(1, 'value', 'string'), mapOf(2, 'metadata', 'string')],
  ReportDeviceStatusResponse: [],
  ReportDeviceStatesResponse: [],
  RegisterDeviceRequest: [m(1, 'device', 'Device')],
  RegisterDeviceResponse: [s(1, 'deviceName', 'string'), s(2, 'deviceNamespace', 'string')],
  CreateDeviceModelRequest: [m(1, 'model', 'DeviceModel')],
  CreateDeviceModelResponse: [s(1, 'deviceModelName', 'string'), s(2, 'deviceModelNamespace', 'string')],
  RemoveDeviceRequest: [s(1, 'deviceName', 'string'), s(2, 'deviceNamespace', 'string')],
  RemoveDeviceResponse: [],
  RemoveDeviceModelRequest: [s(1, 'modelName', 'string'), s(2, 'modelNamespace', 'string')],
  RemoveDeviceModelResponse: [],
  UpdateDeviceRequest: [m(1, 'device', 'Device')],
  UpdateDeviceResponse: [],
  UpdateDeviceModelRequest: [m(1, 'model', 'DeviceModel')],
  UpdateDeviceModelResponse: [],
  GetDeviceRequest: [s(1, 'deviceName', 'string'), s(2, 'deviceNamespace', 'string')],
  GetDeviceResponse: [m(1, 'device', 'Device')],
};

/** Each service's methods: [request message, response message]. Package `v1beta1`. */
export const DMI_SERVICES = {
  DeviceManagerService: {
    MapperRegister: ['MapperRegisterRequest', 'MapperRegisterResponse'],
    ReportDeviceStatus: ['ReportDeviceStatusRequest', 'ReportDeviceStatusResponse'],
    ReportDeviceStates: ['ReportDeviceStatesRequest', 'ReportDeviceStatesResponse'],
  },
  DeviceMapperService: {
    RegisterDevice: ['RegisterDeviceRequest', 'RegisterDeviceResponse'],
    RemoveDevice: ['RemoveDeviceRequest', 'RemoveDeviceResponse'],
    UpdateDevice: ['UpdateDeviceRequest', 'UpdateDeviceResponse'],
    CreateDeviceModel: ['CreateDeviceModelRequest', 'CreateDeviceModelResponse'],
    RemoveDeviceModel: ['RemoveDeviceModelRequest', 'RemoveDeviceModelResponse'],
    UpdateDeviceModel: ['UpdateDeviceModelRequest', 'UpdateDeviceModelResponse'],
    GetDevice: ['GetDeviceRequest', 'GetDeviceResponse'],
  },
} as const satisfies Record<string, Record<string, readonly [string, string]>>;

export type DmiService = keyof typeof DMI_SERVICES;
export type DmiMethod<S extends DmiService> = keyof (typeof DMI_SERVICES)[S] & string;

export const DMI_PACKAGE = 'v1beta1';

/** The DMI messages' encoder and decoder. */
export const DMI_CODEC = new Codec(DMI_SCHEMA);
