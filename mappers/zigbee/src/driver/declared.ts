/**
 * Which IEEE addresses Devices declare: learned from the node's retained spec messages (an empty
 * message removes a Device) and from connect() calls. Everything else that joins is "undeclared".
 */
import { specTopics } from '@edgetwin/sdk';
import { type MapperSpecMessage } from '@edgetwin/sdk/mapper';

export class DeclaredDevices {
  /** ieee -> device id */
  private readonly byIeee = new Map<string, string>();
  /** device id -> ieee, from the spec topic */
  private readonly bySpec = new Map<string, string>();

  has(ieee: string): boolean {
    return this.byIeee.has(ieee);
  }

  get(ieee: string): string | undefined {
    return this.byIeee.get(ieee);
  }

  /** Records that `id` declares `ieee`; true when that is news. */
  declare(ieee: string, id: string): boolean {
    if (this.byIeee.get(ieee) === id) return false;
    this.byIeee.set(ieee, id);
    return true;
  }

  /** Applies a spec message; true when the declared set changed. */
  onSpec(topic: string, payload: Buffer): boolean {
    const ref = specTopics.parse(topic);
    if (!ref) return false;
    const id = `${ref.device.namespace}/${ref.device.name}`;
    const ieee = payload.length > 0 ? zigbeeIeee(payload) : undefined;
    const before = this.bySpec.get(id);
    if (before === ieee) return false;
    if (before !== undefined && this.byIeee.get(before) === id) this.byIeee.delete(before);
    if (ieee === undefined) {
      this.bySpec.delete(id);
    } else {
      this.bySpec.set(id, ieee);
      this.byIeee.set(ieee, id);
    }
    return true;
  }
}

/** The IEEE address of a zigbee Device spec message, or undefined (other protocol, broken spec). */
function zigbeeIeee(payload: Buffer): string | undefined {
  try {
    const msg = JSON.parse(payload.toString('utf8')) as Partial<MapperSpecMessage>;
    const proto = msg.device?.spec.protocol;
    if (proto?.protocolName !== 'zigbee') return undefined;
    const cfg = { ...msg.model?.spec.protocolConfigData, ...proto.configData };
    return typeof cfg.ieeeAddress === 'string' ? cfg.ieeeAddress.toLowerCase() : undefined;
  } catch {
    return undefined; // the runtime reports broken specs; here it only means "not declared"
  }
}
