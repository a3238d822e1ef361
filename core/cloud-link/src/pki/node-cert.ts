/** Reading a node's identity out of a client certificate cloudcore's CA issued. */
import type { X509Certificate } from 'node:crypto';
import { NODE_ORG } from './x509.js';

export interface CertNode {
  node: string;
  /** Hex, upper case. */
  serial: string;
  notBefore: number;
  notAfter: number;
}

/** The node name, serial and validity of a node certificate (undefined when it is not one). */
export function nodeOfCert(cert: X509Certificate): CertNode | undefined {
  const lines = cert.subject.split('\n');
  if (!lines.includes(`O=${NODE_ORG}`)) return undefined;
  const cn = lines.find((l) => l.startsWith('CN='));
  if (!cn) return undefined;
  return {
    node: cn.slice(3),
    serial: cert.serialNumber.toUpperCase(),
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
  };
}
