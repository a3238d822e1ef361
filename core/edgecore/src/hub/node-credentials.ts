/**
 * The edge's node certificate, in `cloud-pki/` of the edge data dir (0700): `node.key` (its EC
 * P-256 key, generated on the edge, never sent anywhere; 0600), `node.crt` (issued by cloudcore's
 * CA at join and at every renewal) and `ca.crt` (that CA). New key and certificate replace the
 * old ones together (key first, both by rename).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nodeOfCert, type CertNode } from '@edgetwin/cloud-link/pki';
import { secretDir, writeSecretFile } from '@edgetwin/cloud-link/pki';
import { createCsr, generateKey } from '@edgetwin/cloud-link/pki';

export interface NodeCert extends CertNode {
  key: string;
  cert: string;
}

/** Renew when this share of the certificate's lifetime has passed (KubeEdge renews at 80 % too). */
export const RENEW_AT = 0.8;

export class NodeCredentials {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'cloud-pki');
  }

  private file(name: string): string {
    return join(this.dir, name);
  }

  /** The stored key and certificate, if both are there and the certificate is a node certificate. */
  load(): NodeCert | undefined {
    if (!existsSync(this.file('node.key')) || !existsSync(this.file('node.crt'))) return undefined;
    const cert = readFileSync(this.file('node.crt'), 'utf8');
    const id = nodeOfCert(new X509Certificate(cert));
    if (!id) return undefined;
    return { ...id, key: readFileSync(this.file('node.key'), 'utf8'), cert };
  }

  /** A new key (kept in memory until `save`) and its CSR for `node`. */
  request(node: string): { key: string; csr: string } {
    const { key } = generateKey();
    return { key, csr: createCsr(node, key) };
  }

  save(key: string, cert: string, ca: string | undefined): NodeCert {
    secretDir(this.dir);
    const id = nodeOfCert(new X509Certificate(cert));
    if (!id) throw new Error('the cloud answered a certificate that is not a node certificate');
    writeSecretFile(this.file('node.key'), key);
    writeSecretFile(this.file('node.crt'), cert);
    if (ca) writeSecretFile(this.file('ca.crt'), ca);
    return { ...id, key, cert };
  }

  clear(): void {
    for (const f of ['node.key', 'node.crt']) rmSync(this.file(f), { force: true });
  }

  /** When to renew `c`: at 80 % of its lifetime. */
  static renewAt(c: CertNode): number {
    return c.notBefore + RENEW_AT * (c.notAfter - c.notBefore);
  }
}
