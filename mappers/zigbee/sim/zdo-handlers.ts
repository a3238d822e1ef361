/**
 * ZDO requests to the emulated coordinator. Herdsman sends them raw (destination address first);
 * answers are an SRSP status and then the ZDO response as an AREQ.
 */
import type { CoordinatorState } from './coordinator-state.js';
import { activeEpRsp, describeEndpoint, nodeDescRsp, nwkAddrRsp, simpleDescRsp, statusRsp, ZdoCluster } from './zdo.js';
import { encodeAreq, encodeRawSrsp, encodeZdoResponse, Subsystem, type ZnpRequest } from './znp-wire.js';

const OK = 0x00;

/** ZDO requests (raw data, destination address first). */
export function handleZdoRequest(e: CoordinatorState, req: ZnpRequest): void {
  const cluster = req.zdoClusterId ?? -1;
  const d = req.data;
  const respond = (data: Buffer) => {
    const f = encodeZdoResponse(cluster, data);
    e.later(5, () => {
      if (f) e.send(f);
    });
  };
  const known = (Object.values(ZdoCluster) as number[]).includes(cluster);
  e.send(encodeRawSrsp(Subsystem.ZDO, req.commandId, Buffer.from([known ? OK : 0x02])));
  if (!known) return;
  switch (cluster) {
    case ZdoCluster.NODE_DESC_REQ: {
      const nwk = d.readUInt16LE(2);
      respond(nodeDescRsp(e.deviceByNwk(nwk), nwk));
      break;
    }
    case ZdoCluster.ACTIVE_EP_REQ: {
      const nwk = d.readUInt16LE(2);
      const eps = nwk === 0 ? [...e.endpoints.keys()] : e.deviceByNwk(nwk)?.spec.endpoints.map((x) => x.id);
      respond(activeEpRsp(nwk, eps));
      break;
    }
    case ZdoCluster.SIMPLE_DESC_REQ: {
      const nwk = d.readUInt16LE(2);
      const ep = d.readUInt8(4);
      if (nwk === 0) {
        respond(simpleDescRsp(nwk, ep, e.endpoints.get(ep)));
      } else {
        const sep = e.deviceByNwk(nwk)?.endpoint(ep);
        respond(simpleDescRsp(nwk, ep, sep ? describeEndpoint(sep) : undefined));
      }
      break;
    }
    case ZdoCluster.NWK_ADDR_REQ:
    case ZdoCluster.IEEE_ADDR_REQ: {
      const ieee = `0x${Buffer.from(d.subarray(0, 8)).reverse().toString('hex')}`;
      const dev = e.devices.find((x) => x.ieee === ieee && x.joined);
      respond(nwkAddrRsp(ieee, ieee === e.ieeeAddress ? 0 : dev?.nwk));
      break;
    }
    case ZdoCluster.MGMT_PERMIT_JOIN_REQ: {
      const dst = d.readUInt16LE(1);
      e.permitJoin(d.readUInt8(3));
      respond(statusRsp(dst === 0xfffc ? 0 : dst));
      break;
    }
    case ZdoCluster.MGMT_LEAVE_REQ: {
      const dst = d.readUInt16LE(0);
      const dev = e.deviceByNwk(dst);
      respond(statusRsp(dst));
      if (dev) {
        dev.joined = false;
        e.send(
          encodeAreq(Subsystem.ZDO, 'leaveInd', {
            srcaddr: dev.nwk,
            extaddr: dev.ieee,
            request: 0,
            removechildren: 0,
            rejoin: 0,
          }),
        );
      }
      break;
    }
    case ZdoCluster.MGMT_NWK_UPDATE_REQ: {
      const mask = d.readUInt32LE(3);
      for (let c = 11; c <= 26; c++) {
        if (mask & (1 << c)) {
          e.nv.setChannel(c);
          break;
        }
      }
      break;
    }
    default:
      respond(statusRsp(d.readUInt16LE(0)));
  }
}
