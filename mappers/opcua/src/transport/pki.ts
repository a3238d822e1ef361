/**
 * Certificates on disk: thumbprints for error messages and docs, trust-list helpers, and the
 * mapper's own PKI folder (node-opcua layout: `own/`, `trusted/certs`, `rejected/`, `issuers/`).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OPCUACertificateManager } from 'node-opcua-certificate-manager';

/** The first certificate of a DER chain (OPC UA sends chains as concatenated DER). */
export function firstCertificate(der: Buffer): Buffer {
  if (der.length < 2 || der[0] !== 0x30) return der;
  const first = der[1]!;
  if (first < 0x80) return der.subarray(0, 2 + first);
  const n = first & 0x7f;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + der[2 + i]!;
  return der.subarray(0, 2 + n + len);
}

/** SHA-1 thumbprint, upper-case hex without separators (what OPC UA tools show). */
export function certificateThumbprint(der: Buffer): string {
  return createHash('sha1').update(firstCertificate(der)).digest('hex').toUpperCase();
}

/** Reads a PEM or DER certificate file as DER. */
export async function readCertificateDer(file: string): Promise<Buffer> {
  const raw = await readFile(file);
  const text = raw.subarray(0, 64).toString('latin1');
  if (text.includes('-----BEGIN')) return Buffer.from(new X509Certificate(raw).raw);
  return raw;
}

/** Adds a certificate file to a certificate manager's trust list. */
export async function trustCertificateFile(cm: OPCUACertificateManager, file: string): Promise<void> {
  await cm.trustCertificate(await readCertificateDer(file));
}

/** Where things live in a PKI folder. */
export function pkiLayout(pkiDir: string) {
  return {
    root: pkiDir,
    trusted: join(pkiDir, 'trusted', 'certs'),
    rejected: join(pkiDir, 'rejected'),
    ownCertificate: join(pkiDir, 'own', 'certs', 'client_certificate.pem'),
    ownPrivateKey: join(pkiDir, 'own', 'private', 'private_key.pem'),
  };
}

async function certificatesIn(dir: string): Promise<{ file: string; thumbprint: string }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: { file: string; thumbprint: string }[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      out.push({ file, thumbprint: certificateThumbprint(await readCertificateDer(file)) });
    } catch {
      // not a certificate: ignored, as node-opcua ignores it
    }
  }
  return out;
}

/**
 * Makes the trust list win over the rejected folder: a certificate copied into `trusted/certs`
 * is removed from `rejected/`, so trusting a server is one copy (node-opcua checks rejected first).
 */
export async function reconcileTrustList(pkiDir: string): Promise<void> {
  const layout = pkiLayout(pkiDir);
  const trusted = new Set((await certificatesIn(layout.trusted)).map((c) => c.thumbprint));
  if (trusted.size === 0) return;
  for (const c of await certificatesIn(layout.rejected)) {
    if (trusted.has(c.thumbprint)) await rm(c.file, { force: true });
  }
}

/** The file in `rejected/` holding the certificate with this thumbprint, if any. */
export async function findRejected(pkiDir: string, thumbprint: string): Promise<string | undefined> {
  return (await certificatesIn(pkiLayout(pkiDir).rejected)).find((c) => c.thumbprint === thumbprint)?.file;
}

/** Copies a server certificate file (PEM or DER) into a PKI folder's trust list. */
export async function trustServerCertificate(certificateFile: string, pkiDir: string): Promise<string> {
  const trusted = pkiLayout(pkiDir).trusted;
  await mkdir(trusted, { recursive: true });
  const der = await readCertificateDer(certificateFile);
  const target = join(trusted, `${certificateThumbprint(der)}.der`);
  await writeFile(target, firstCertificate(der));
  return target;
}

/** The application URI (subjectAltName URI) of a certificate file, which OPC UA requires to match. */
export async function certificateApplicationUri(file: string): Promise<string | undefined> {
  const der = await readCertificateDer(file);
  const san = new X509Certificate(firstCertificate(der)).subjectAltName ?? '';
  return /URI:([^,\s]+)/.exec(san)?.[1];
}
