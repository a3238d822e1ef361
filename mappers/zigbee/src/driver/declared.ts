/**
 * Which IEEE addresses Devices declare: learned from connect() calls (the runtime connects every
 * Device edgecore hands the mapper over DMI) and forgotten when edgecore removes the Device.
 * Everything else that joins is "undeclared".
 */
export class DeclaredDevices {
  /** ieee -> device id */
  private readonly byIeee = new Map<string, string>();

  has(ieee: string): boolean {
    return this.byIeee.has(ieee);
  }

  get(ieee: string): string | undefined {
    return this.byIeee.get(ieee);
  }

  /** Records that `id` declares `ieee` (and no other address); true when that is news. */
  declare(ieee: string, id: string): boolean {
    if (this.byIeee.get(ieee) === id) return false;
    this.forget(id);
    this.byIeee.set(ieee, id);
    return true;
  }

  /** Device `id` was removed: the address it declared is undeclared again; true when it had one. */
  forget(id: string): boolean {
    let changed = false;
    for (const [ieee, owner] of this.byIeee)
      if (owner === id) {
        this.byIeee.delete(ieee);
        changed = true;
      }
    return changed;
  }
}
