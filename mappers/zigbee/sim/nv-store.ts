/**
 * The coordinator's non-volatile memory: legacy OSAL items (16-bit id) and Z-Stack 3.x extended
 * table entries (sysId, itemId, subId). Herdsman reads and writes these during start-up and
 * backup; the network information base (NIB) is synthesized from what it wrote.
 */
import * as Structs from 'zigbee-herdsman/dist/adapter/z-stack/structs/index.js';

/** NV item ids used by the emulator (Z-Stack `ZCD_NV_*`). */
export const NvId = {
  STARTUP_OPTION: 0x03,
  NIB: 0x21,
  EXTENDED_PAN_ID: 0x2d,
  NWK_ACTIVE_KEY_INFO: 0x3a,
  NWK_ALTERN_KEY_INFO: 0x3b,
  PRECFGKEY: 0x62,
  NWKKEY: 0x82,
  PANID: 0x83,
  CHANLIST: 0x84,
  APS_LINK_KEY_TABLE: 0x4c,
  TCLK_SEED: 0x101,
} as const;

/** Z-Stack 3.x extended NV tables (system id ZSTACK). */
const ZSTACK_SYSID = 1;
const ExTable = { ADDRMGR: 1, TCLK: 4, APS_KEY_DATA: 6, NWK_SEC_MATERIAL: 7 } as const;
const TABLE_CAPACITY = 16;

export interface NvSnapshot {
  items: Record<string, string>;
  extended: Record<string, string>;
}

export class NvStore {
  private readonly items = new Map<number, Buffer>();
  private readonly extended = new Map<string, Buffer>();

  constructor() {
    this.factoryReset();
  }

  /**
   * Back to a blank, never-commissioned chip: the unaligned 21-byte NWKKEY item and empty device
   * tables of a CC2652 (address manager, security manager, APS link keys, TC link keys, network
   * security material), which herdsman sizes before restoring a backup.
   */
  factoryReset(): void {
    this.items.clear();
    this.extended.clear();
    this.items.set(NvId.NWKKEY, Buffer.alloc(21));
    this.items.set(NvId.APS_LINK_KEY_TABLE, Structs.securityManagerTable(TABLE_CAPACITY).serialize('unaligned'));
    this.items.set(NvId.TCLK_SEED, Buffer.alloc(16));
    const tables: [number, { entries: { serialize(a: 'unaligned'): Buffer }[] }][] = [
      [ExTable.ADDRMGR, Structs.addressManagerTable(TABLE_CAPACITY)],
      [ExTable.APS_KEY_DATA, Structs.apsLinkKeyDataTable(TABLE_CAPACITY)],
      [ExTable.TCLK, Structs.apsTcLinkKeyTable(TABLE_CAPACITY)],
      [ExTable.NWK_SEC_MATERIAL, Structs.nwkSecMaterialDescriptorTable(TABLE_CAPACITY)],
    ];
    for (const [itemId, table] of tables) {
      table.entries.forEach((e, subId) =>
        this.extended.set(NvStore.key(ZSTACK_SYSID, itemId, subId), e.serialize('unaligned')),
      );
    }
  }

  /** Clears network state only (startup option bit 0x02). */
  clearNetworkState(): void {
    for (const id of [NvId.NIB, NvId.NWK_ACTIVE_KEY_INFO, NvId.NWK_ALTERN_KEY_INFO]) this.items.delete(id);
    this.items.set(NvId.NWKKEY, Buffer.alloc(21));
  }

  get(id: number): Buffer | undefined {
    return this.items.get(id);
  }

  length(id: number): number {
    return this.items.get(id)?.length ?? 0;
  }

  /** Creates an item; false when it already existed (Z-Stack answers SUCCESS then, else NV_ITEM_INITIALIZED). */
  init(id: number, len: number, initValue: Buffer): boolean {
    if (this.items.has(id)) return false;
    const b = Buffer.alloc(len);
    initValue.copy(b, 0, 0, Math.min(len, initValue.length));
    this.items.set(id, b);
    return true;
  }

  read(id: number, offset: number, max = 240): Buffer | undefined {
    const b = this.items.get(id);
    if (!b || offset > b.length) return undefined;
    return b.subarray(offset, Math.min(b.length, offset + max));
  }

  write(id: number, offset: number, value: Buffer): boolean {
    const b = this.items.get(id);
    if (!b) return false;
    const need = offset + value.length;
    const target = need > b.length ? Buffer.concat([b, Buffer.alloc(need - b.length)]) : b;
    value.copy(target, offset);
    this.items.set(id, target);
    return true;
  }

  set(id: number, value: Buffer): void {
    this.items.set(id, Buffer.from(value));
  }

  delete(id: number): void {
    this.items.delete(id);
  }

  private static key(sysId: number, itemId: number, subId: number): string {
    return `${sysId}:${itemId}:${subId}`;
  }

  extLength(sysId: number, itemId: number, subId: number): number {
    return this.extended.get(NvStore.key(sysId, itemId, subId))?.length ?? 0;
  }

  extCreate(sysId: number, itemId: number, subId: number, len: number): void {
    const k = NvStore.key(sysId, itemId, subId);
    if (!this.extended.has(k)) this.extended.set(k, Buffer.alloc(len));
  }

  extRead(sysId: number, itemId: number, subId: number, offset: number, len: number): Buffer | undefined {
    const b = this.extended.get(NvStore.key(sysId, itemId, subId));
    return b?.subarray(offset, offset + len);
  }

  extWrite(sysId: number, itemId: number, subId: number, offset: number, value: Buffer): boolean {
    const k = NvStore.key(sysId, itemId, subId);
    const b = this.extended.get(k);
    if (!b) return false;
    const need = offset + value.length;
    const target = need > b.length ? Buffer.concat([b, Buffer.alloc(need - b.length)]) : b;
    value.copy(target, offset);
    this.extended.set(k, target);
    return true;
  }

  /**
   * Forms the network from the commissioning items herdsman wrote (PANID, CHANLIST,
   * EXTENDED_PAN_ID, PRECFGKEY): writes the NIB and the active/alternate key descriptors.
   */
  formNetwork(coordinatorIeee: Buffer, primaryChannelMask: number | undefined): NetworkParams {
    const panId = this.items.get(NvId.PANID)?.readUInt16LE(0) ?? 0x1a62;
    const mask = primaryChannelMask ?? this.items.get(NvId.CHANLIST)?.readUInt32LE(0) ?? 1 << 11;
    let channel = 11;
    for (let c = 11; c <= 26; c++) {
      if (mask & (1 << c)) {
        channel = c;
        break;
      }
    }
    // EXTENDED_PAN_ID is stored little-endian (herdsman writes it reversed).
    const epidLe = this.items.get(NvId.EXTENDED_PAN_ID) ?? Buffer.from(coordinatorIeee).reverse();
    const extendedPanId = Buffer.from(epidLe).reverse();
    const key = this.items.get(NvId.PRECFGKEY) ?? Buffer.alloc(16);

    const nib = Structs.nib();
    nib.nwkPanId = panId;
    nib.nwkLogicalChannel = channel;
    nib.channelList = mask;
    nib.extendedPANID = extendedPanId;
    nib.nwkDevAddress = 0;
    nib.nwkCoordAddress = 0;
    nib.nwkCoordExtAddress = Buffer.from(coordinatorIeee);
    nib.nwkKeyLoaded = 1;
    nib.nwkState = 9;
    nib.SecurityLevel = 5;
    this.items.set(NvId.NIB, nib.serialize('unaligned'));

    const desc = Structs.nwkKeyDescriptor();
    desc.keySeqNum = 0;
    desc.key = Buffer.from(key);
    this.items.set(NvId.NWK_ACTIVE_KEY_INFO, desc.serialize('unaligned'));
    this.items.set(NvId.NWK_ALTERN_KEY_INFO, desc.serialize('unaligned'));
    this.items.set(NvId.NWKKEY, Buffer.concat([Buffer.from([0]), key, Buffer.alloc(4)]));
    return { panId, channel, extendedPanId };
  }

  /** The network the NIB describes, or undefined when the chip was never commissioned. */
  network(): NetworkParams | undefined {
    const raw = this.items.get(NvId.NIB);
    if (!raw) return undefined;
    const nib = Structs.nib(Buffer.from(raw));
    if (nib.nwkPanId === 0xffff || nib.nwkLogicalChannel === 0) return undefined;
    return { panId: nib.nwkPanId, channel: nib.nwkLogicalChannel, extendedPanId: Buffer.from(nib.extendedPANID) };
  }

  /** Moves the network to another channel (ZDO mgmt NWK update). */
  setChannel(channel: number): void {
    const raw = this.items.get(NvId.NIB);
    if (!raw) return;
    const nib = Structs.nib(Buffer.from(raw));
    nib.nwkLogicalChannel = channel;
    nib.nwkUpdateId = (nib.nwkUpdateId + 1) & 0xff;
    this.items.set(NvId.NIB, nib.serialize('unaligned'));
  }

  snapshot(): NvSnapshot {
    const items: Record<string, string> = {};
    for (const [k, v] of this.items) items[String(k)] = v.toString('hex');
    const extended: Record<string, string> = {};
    for (const [k, v] of this.extended) extended[k] = v.toString('hex');
    return { items, extended };
  }

  restore(s: NvSnapshot): void {
    this.items.clear();
    this.extended.clear();
    for (const [k, v] of Object.entries(s.items)) this.items.set(Number(k), Buffer.from(v, 'hex'));
    for (const [k, v] of Object.entries(s.extended)) this.extended.set(k, Buffer.from(v, 'hex'));
  }
}

export interface NetworkParams {
  panId: number;
  channel: number;
  /** Big-endian (as printed) extended PAN id. */
  extendedPanId: Buffer;
}
