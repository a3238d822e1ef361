/**
 * cloudcore's certificate authority for node identities, in `pki/` of its data dir (0700):
 * `ca.key` (EC P-256, PKCS#8, mode 0600) and `ca.crt` (self-signed, 10 years), made on the first
 * start and reused afterwards. It signs the CSRs of joining and renewing nodes: the subject is
 * `O=edgetwin:nodes, CN=<node name>`, extended key usage clientAuth.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeTwinError } from '@edgetwin/sdk';
import { secretDir, writeSecretFile } from '@edgetwin/cloud-link/pki';
import { generateKey, issueCertificate, NODE_ORG, publicKeyInfo, verifyCsr } from '@edgetwin/cloud-link/pki';

const CA_LIFETIME_MS = 10 * 365 * 86_400_000;
/** Node certificates live one year unless configured otherwise (KubeEdge's default too). */
export const DEFAULT_NODE_CERT_LIFETIME_MS = 365 * 86_400_000;
/** Certificates start up to 5 min (a tenth of their lifetime) in the past, for edge clocks running behind. */
const BACKDATE_MS = 5 * 60_000;

export interface IssuedCert {
  cert: string;
  serial: string;
  notAfter: number;
}

export class CloudCa {
  readonly cert: string;
  private readonly key: string;

  private constructor(cert: string, key: string) {
    this.cert = cert;
    this.key = key;
  }

  /** Loads the CA from `<dataDir>/pki`, creating it the first time. */
  static open(dataDir: string, now = Date.now()): CloudCa {
    const dir = secretDir(join(dataDir, 'pki'));
    const keyFile = join(dir, 'ca.key');
    const certFile = join(dir, 'ca.crt');
    if (existsSync(keyFile) && existsSync(certFile)) {
      return new CloudCa(readFileSync(certFile, 'utf8'), readFileSync(keyFile, 'utf8'));
    }
    const { key } = generateKey();
    const { cert } = issueCertificate({
      selfKey: key,
      subject: { cn: 'edgetwin cloudcore CA' },
      publicKey: publicKeyInfo(key),
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + CA_LIFETIME_MS),
      ca: true,
    });
    writeSecretFile(keyFile, key);
    writeSecretFile(certFile, cert);
    return new CloudCa(cert, key);
  }

  /** Signs a node's CSR after checking its signature and that its common name is `node`. */
  issueNodeCert(node: string, csrPem: string, lifetimeMs: number, now = Date.now()): IssuedCert {
    const csr = verifyCsr(csrPem);
    if (csr.commonName !== node)
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `the certificate request is for "${csr.commonName}", not for node ${node}`,
      );
    const notAfter = now + lifetimeMs;
    const { cert, serial } = issueCertificate({
      issuer: { cert: this.cert, key: this.key },
      subject: { cn: node, org: NODE_ORG },
      publicKey: csr.publicKey,
      notBefore: new Date(now - Math.min(BACKDATE_MS, lifetimeMs / 10)),
      notAfter: new Date(notAfter),
      ca: false,
    });
    return { cert, serial, notAfter };
  }
}
