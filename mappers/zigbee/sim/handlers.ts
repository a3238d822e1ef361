/**
 * The MT request handlers of the emulated Z-Stack 3.x coordinator: SYS (NV memory, version,
 * reset), UTIL, APP_CNF (BDB commissioning), ZDO (start-up, descriptors, permit join) and AF
 * (endpoint registration, data requests to simulated devices).
 */
import type { CoordinatorState } from './coordinator-state.js';
import {
  decodeRequest,
  encodeAreq,
  encodeSrsp,
  FrameType,
  Subsystem,
  type Frame,
  type ZnpRequest,
} from './znp-wire.js';
import { handleZdoRequest } from './zdo-handlers.js';

const ZSTACK_3X0 = 1;
const OK = 0x00;
const FAILURE = 0x01;
const NV_ITEM_INITIALIZED = 0x09;
const NWK_NO_ROUTE = 0xcd;

type Handler = (emu: CoordinatorState, req: ZnpRequest) => void;

const u = (v: unknown): number => Number(v);
const buf = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v as number[]));

function srsp(emu: CoordinatorState, req: ZnpRequest, payload: Record<string, unknown>): void {
  emu.send(encodeSrsp(req.subsystem, req.name, payload));
}

const sys: Record<string, Handler> = {
  ping: (e, r) => srsp(e, r, { capabilities: 0x0179 }),
  version: (e, r) =>
    srsp(e, r, { transportrev: 2, product: ZSTACK_3X0, majorrel: 2, minorrel: 7, maintrel: 1, revision: 20210708 }),
  getExtAddr: (e, r) => srsp(e, r, { extaddress: e.ieeeAddress }),
  osalNvLength: (e, r) => srsp(e, r, { length: e.nv.length(u(r.params.id)) }),
  osalNvItemInit: (e, r) => {
    const created = e.nv.init(u(r.params.id), u(r.params.len), buf(r.params.initvalue));
    srsp(e, r, { status: created ? NV_ITEM_INITIALIZED : OK });
  },
  osalNvRead: (e, r) => nvRead(e, r),
  osalNvReadExt: (e, r) => nvRead(e, r),
  osalNvWrite: (e, r) =>
    srsp(e, r, { status: e.nv.write(u(r.params.id), u(r.params.offset), buf(r.params.value)) ? OK : FAILURE }),
  osalNvWriteExt: (e, r) =>
    srsp(e, r, { status: e.nv.write(u(r.params.id), u(r.params.offset), buf(r.params.value)) ? OK : FAILURE }),
  osalNvDelete: (e, r) => {
    e.nv.delete(u(r.params.id));
    srsp(e, r, { status: OK });
  },
  nvLength: (e, r) => srsp(e, r, { len: e.nv.extLength(u(r.params.sysid), u(r.params.itemid), u(r.params.subid)) }),
  nvCreate: (e, r) => {
    e.nv.extCreate(u(r.params.sysid), u(r.params.itemid), u(r.params.subid), u(r.params.len));
    srsp(e, r, { status: OK });
  },
  nvRead: (e, r) => {
    const v = e.nv.extRead(
      u(r.params.sysid),
      u(r.params.itemid),
      u(r.params.subid),
      u(r.params.offset),
      u(r.params.len),
    );
    srsp(e, r, v ? { status: OK, len: v.length, value: v } : { status: FAILURE, len: 0, value: Buffer.alloc(0) });
  },
  nvWrite: (e, r) => {
    const ok = e.nv.extWrite(
      u(r.params.sysid),
      u(r.params.itemid),
      u(r.params.subid),
      u(r.params.offset),
      buf(r.params.value),
    );
    srsp(e, r, { status: ok ? OK : FAILURE });
  },
  stackTune: (e, r) => srsp(e, r, { value: 0 }),
  resetReq: (e) => {
    const option = e.nv.get(0x03)?.[0] ?? 0;
    if (option & 0x01) e.nv.factoryReset();
    else if (option & 0x02) e.nv.clearNetworkState();
    if (option & 0x03) e.clearNetwork();
    e.devState = 0;
    e.later(20, () =>
      e.send(
        encodeAreq(Subsystem.SYS, 'resetInd', {
          reason: 0,
          transportrev: 2,
          productid: ZSTACK_3X0,
          majorrel: 2,
          minorrel: 7,
          hwrev: 1,
        }),
      ),
    );
  },
};

function nvRead(e: CoordinatorState, r: ZnpRequest): void {
  const v = e.nv.read(u(r.params.id), u(r.params.offset), 240);
  srsp(e, r, v ? { status: OK, len: v.length, value: v } : { status: FAILURE, len: 0, value: Buffer.alloc(0) });
}

const util: Record<string, Handler> = {
  getDeviceInfo: (e, r) => {
    const assoc = e.devices.filter((d) => d.joined).map((d) => d.nwk);
    srsp(e, r, {
      status: OK,
      ieeeaddr: e.ieeeAddress,
      shortaddr: 0,
      devicetype: 7,
      devicestate: e.devState,
      numassocdevices: assoc.length,
      assocdeviceslist: assoc,
    });
  },
  ledControl: (e, r) => srsp(e, r, { status: OK }),
  assocGetWithAddress: (e, r) => {
    const d = e.deviceByNwk(u(r.params.nwkaddr));
    srsp(e, r, { nwkaddr: d ? d.nwk : 0xfffe, addridx: 0, noderelation: d ? 1 : 255 });
  },
};

function startNetwork(e: CoordinatorState): void {
  e.later(100, () => {
    if (!e.nv.network()) e.nv.formNetwork(Buffer.from(e.ieeeAddress.slice(2), 'hex'), e.primaryChannelMask);
    e.devState = 9;
    e.send(encodeAreq(Subsystem.ZDO, 'stateChangeInd', { state: 9 }));
    e.saveState();
  });
}

const appCnf: Record<string, Handler> = {
  bdbSetChannel: (e, r) => {
    if (u(r.params.isPrimary) === 1) e.primaryChannelMask = u(r.params.channel);
    srsp(e, r, { status: OK });
  },
  bdbStartCommissioning: (e, r) => {
    srsp(e, r, { status: OK });
    if (u(r.params.mode) & 0x04) startNetwork(e);
  },
};

const zdo: Record<string, Handler> = {
  startupFromApp: (e, r) => {
    srsp(e, r, { status: e.nv.network() ? 0 : 1 });
    startNetwork(e);
  },
  extNwkInfo: (e, r) => {
    const n = e.nv.network();
    srsp(e, r, {
      shortaddr: 0,
      devstate: e.devState,
      panid: n?.panId ?? 0xffff,
      parentaddr: 0,
      extendedpanid: `0x${(n?.extendedPanId ?? Buffer.alloc(8)).toString('hex')}`,
      parentextaddr: '0x0000000000000000',
      channel: n?.channel ?? 0,
    });
  },
  extRouteDisc: (e, r) => srsp(e, r, { status: OK }),
  extFindGroup: (e, r) => {
    const found = e.groups.has(`${u(r.params.endpoint)}/${u(r.params.groupid)}`);
    srsp(e, r, { status: found ? OK : FAILURE, groupid: u(r.params.groupid), namelen: 0, groupname: Buffer.alloc(0) });
  },
  extAddGroup: (e, r) => {
    e.groups.add(`${u(r.params.endpoint)}/${u(r.params.groupid)}`);
    srsp(e, r, { status: OK });
  },
  extRemoveGroup: (e, r) => {
    e.groups.delete(`${u(r.params.endpoint)}/${u(r.params.groupid)}`);
    srsp(e, r, { status: OK });
  },
};

const af: Record<string, Handler> = {
  register: (e, r) => {
    const id = u(r.params.endpoint);
    const status = e.endpoints.has(id) ? 0xb8 : OK;
    e.endpoints.set(id, {
      id,
      profileId: u(r.params.appprofid),
      deviceId: u(r.params.appdeviceid),
      inIds: (r.params.appinclusterlist as number[] | undefined) ?? [],
      outIds: (r.params.appoutclusterlist as number[] | undefined) ?? [],
    });
    srsp(e, r, { status });
  },
  dataRequest: (e, r) => {
    srsp(e, r, { status: OK });
    const dev = e.deviceByNwk(u(r.params.dstaddr));
    const dstEp = u(r.params.destendpoint);
    const transid = u(r.params.transid);
    e.later(5, () => {
      e.send(encodeAreq(Subsystem.AF, 'dataConfirm', { status: dev ? OK : NWK_NO_ROUTE, endpoint: dstEp, transid }));
      if (!dev) return;
      const replies = dev.handleZcl(dstEp, u(r.params.clusterid), u(r.params.srcendpoint), buf(r.params.data));
      e.later(5, () => {
        for (const z of replies) e.deliver(z);
      });
    });
  },
  dataRequestExt: (e, r) => {
    srsp(e, r, { status: OK });
    const endpoint = u(r.params.destendpoint);
    const transid = u(r.params.transid);
    e.later(5, () => e.send(encodeAreq(Subsystem.AF, 'dataConfirm', { status: OK, endpoint, transid })));
  },
};

const bySubsystem: Record<number, Record<string, Handler>> = {
  [Subsystem.SYS]: sys,
  [Subsystem.UTIL]: util,
  [Subsystem.APP_CNF]: appCnf,
  [Subsystem.ZDO]: zdo,
  [Subsystem.AF]: af,
};

/** Dispatches one frame from the host. Unknown SREQs get no answer (herdsman times out, as with real firmware). */
const NV_WRITES = new Set([
  'osalNvItemInit',
  'osalNvWrite',
  'osalNvWriteExt',
  'osalNvDelete',
  'nvCreate',
  'nvWrite',
  'resetReq',
]);

export function handleRequest(emu: CoordinatorState, frame: Frame): void {
  const req = decodeRequest(frame);
  if (req && NV_WRITES.has(req.name)) emu.saveSoon();
  if (!req) {
    emu.log?.debug({ subsystem: frame.subsystem, command: frame.commandID }, 'unknown MT command');
    return;
  }
  emu.received.push(req.name);
  if (
    req.subsystem === Number(Subsystem.ZDO) &&
    req.zdoClusterId !== undefined &&
    Number(frame.type) === Number(FrameType.SREQ)
  ) {
    handleZdoRequest(emu, req);
    return;
  }
  const h = bySubsystem[req.subsystem]?.[req.name];
  if (h) h(emu, req);
  else emu.log?.debug({ command: req.name }, 'unhandled MT command');
}
