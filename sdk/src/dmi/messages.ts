/**
 * DMI v1beta1 messages as the sdk's codec (`DMI_CODEC`) and @grpc/proto-loader give and take them
 * (`keepCase`, `longs: Number`, `defaults: true`): the subset of `proto/dmi-v1beta1.proto` that edgecore and EdgeTwin's mapper
 * runtime fill in or read. Field names are the proto's.
 */
export interface AnyMessage {
  type_url: string;
  value: Buffer | Uint8Array;
}

export interface PbTwinProperty {
  value: string;
  metadata: Record<string, string>;
}

export interface PbDeviceProperty {
  name: string;
  desired?: PbTwinProperty | null;
  visitors?: { protocolName: string; configData?: { data: Record<string, AnyMessage> } | null } | null;
  reportCycle: number;
  collectCycle: number;
  reportToCloud: boolean;
  pushMethod?: Record<string, unknown> | null;
}

export interface PbTwin {
  propertyName: string;
  observedDesired?: PbTwinProperty | null;
  reported?: PbTwinProperty | null;
}

export interface PbDevice {
  name: string;
  namespace: string;
  spec?: {
    deviceModelReference: string;
    protocol?: { protocolName: string; configData?: { data: Record<string, AnyMessage> } | null } | null;
    properties: PbDeviceProperty[];
    methods: { name: string; description: string; propertyNames: string[] }[];
  } | null;
  status?: { twins: PbTwin[]; reportToCloud?: boolean; reportCycle?: number } | null;
}

export interface PbModelProperty {
  name: string;
  description: string;
  type: string;
  accessMode: string;
  minimum: string;
  maximum: string;
  unit: string;
}

export interface PbDeviceModel {
  name: string;
  namespace: string;
  spec?: { properties: PbModelProperty[]; commands: never[] } | null;
}

export interface PbMapperInfo {
  name: string;
  version: string;
  api_version: string;
  protocol: string;
  /** The mapper's own unix socket path, as bytes. */
  address: Buffer | Uint8Array;
  state: string;
}

export interface PbMapperRegisterRequest {
  withData: boolean;
  mapper?: PbMapperInfo | null;
}

export interface PbMapperRegisterResponse {
  modelList: PbDeviceModel[];
  deviceList: PbDevice[];
}

export interface PbReportDeviceStatusRequest {
  deviceName: string;
  deviceNamespace: string;
  reportedDevice?: { twins: PbTwin[]; reportToCloud?: boolean; reportCycle?: number } | null;
}

export interface PbReportDeviceStatesRequest {
  deviceName: string;
  deviceNamespace: string;
  state: string;
}

/**
 * EdgeTwin's extensions, in the proto's free-form string metadata (KubeEdge ignores them):
 * a desired value's `version` (the twin's desired version, so each version is written once) and
 * `status` (`applied`/`failed` once the write of that version has an outcome); an observedDesired's
 * `status`, `version`, `code`, `reason` and `timestamp` (the write outcome); a reported value's
 * `timestamp` (device clock, ms), `quality` and `type`.
 */
export const DMI_METADATA = {
  version: 'version',
  status: 'status',
  code: 'code',
  reason: 'reason',
  timestamp: 'timestamp',
  quality: 'quality',
  type: 'type',
} as const;
