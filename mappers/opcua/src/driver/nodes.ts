/**
 * Finding the nodes of a device's properties: parse nodeIDs, translate browse paths, and learn each
 * node's DataType from the server (unless the visitor names it). Done once per session, batched.
 * A property whose node cannot be found keeps its error; the others work normally.
 */
import {
  AttributeIds,
  DataType,
  makeBrowsePath,
  resolveNodeId,
  type ClientSession,
  type NodeId,
  type ReadValueIdOptions,
} from 'node-opcua-client';
import { EdgeTwinError, errorMessage } from '@edgetwin/sdk';
import { type MapperProperty } from '@edgetwin/sdk/mapper';
import { checkVisitor, type OpcuaVisitorConfig } from '../config.js';
import { dataTypeFromName } from '../codec/values.js';

export interface PropertyNode {
  property: MapperProperty<OpcuaVisitorConfig>;
  /** What the user wrote (nodeID or browse path), for messages. */
  label: string;
  nodeId?: NodeId;
  dataType?: DataType;
  /** Why the property cannot be used; reads return it and writes throw it. */
  error?: EdgeTwinError;
}

const CHUNK = 500;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

function statusError(node: PropertyNode, status: { name: string; value: number }, what: string, hint: string) {
  return new EdgeTwinError(
    'ET_PROTOCOL',
    `property ${node.property.name}: ${what} ${node.label} failed with ${status.name}; ${hint}`,
    { details: { status: status.name, statusCode: status.value, nodeId: node.label, property: node.property.name } },
  );
}

export async function resolveNodes(
  session: ClientSession,
  deviceId: string,
  properties: readonly MapperProperty<OpcuaVisitorConfig>[],
): Promise<Map<string, PropertyNode>> {
  const nodes = new Map<string, PropertyNode>();
  const byPath: PropertyNode[] = [];
  for (const property of properties) {
    const v = property.visitor;
    const node: PropertyNode = { property, label: v.nodeID ?? v.browsePath ?? '(none)' };
    nodes.set(property.name, node);
    try {
      checkVisitor(deviceId, property.name, v);
      if (v.nodeID !== undefined) node.nodeId = resolveNodeId(v.nodeID);
      else byPath.push(node);
    } catch (err) {
      node.error =
        err instanceof EdgeTwinError
          ? err
          : new EdgeTwinError(
              'ET_CONFIG_INVALID',
              `Device ${deviceId}: property ${property.name}: nodeID ${JSON.stringify(v.nodeID)} is not a node id (${errorMessage(err)}); write it as ns=2;s=Name or ns=2;i=1234`,
              { cause: err, details: { property: property.name, path: '/visitors/configData/nodeID' } },
            );
    }
  }

  for (const part of chunks(byPath)) {
    const paths = part.map((n) => {
      try {
        return makeBrowsePath('RootFolder', n.property.visitor.browsePath ?? '');
      } catch (err) {
        n.error = new EdgeTwinError(
          'ET_CONFIG_INVALID',
          `Device ${deviceId}: property ${n.property.name}: browsePath ${n.label} cannot be parsed (${errorMessage(err)}); write it as /Objects/2:Folder/2:Variable`,
          { cause: err, details: { property: n.property.name, path: '/visitors/configData/browsePath' } },
        );
        return undefined;
      }
    });
    const valid = part.filter((_, i) => paths[i] !== undefined);
    if (valid.length === 0) continue;
    const results = await session.translateBrowsePath(paths.filter((p) => p !== undefined));
    valid.forEach((n, i) => {
      const r = results[i];
      const target = r?.targets?.[0];
      if (!r || !r.statusCode.isGood() || !target) {
        n.error = statusError(
          n,
          r?.statusCode ?? { name: 'BadNoMatch', value: 0x806f0000 },
          'browse path',
          'check the browse names and namespace indexes with an OPC UA browser',
        );
        return;
      }
      n.nodeId = target.targetId;
    });
  }

  const toCheck = [...nodes.values()].filter((n) => n.nodeId !== undefined && n.error === undefined);
  for (const part of chunks(toCheck)) {
    const req: ReadValueIdOptions[] = part.map((n) => ({ nodeId: n.nodeId!, attributeId: AttributeIds.DataType }));
    const results = await session.read(req);
    for (const [i, n] of part.entries()) {
      const dv = results[i];
      if (!dv || !dv.statusCode.isGood()) {
        const status = dv?.statusCode ?? { name: 'BadNodeIdUnknown', value: 0x80340000 };
        const hint =
          status.name === 'BadAttributeIdInvalid'
            ? 'the node is not a Variable; point nodeID at a variable node'
            : 'the node does not exist on the server; check nodeID (namespace index and identifier)';
        n.error = statusError(n, status, 'node', hint);
        continue;
      }
      if (n.property.visitor.dataType !== undefined) {
        n.dataType = dataTypeFromName(n.property.visitor.dataType);
        continue;
      }
      const typeId = dv.value.value as NodeId;
      if (typeId.namespace === 0 && typeof typeId.value === 'number' && typeId.value >= 1 && typeId.value <= 25) {
        n.dataType = typeId.value;
      } else {
        n.dataType = await session.getBuiltInDataType(n.nodeId!);
      }
    }
  }
  return nodes;
}
