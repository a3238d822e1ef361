/**
 * The few X.509 pieces node identity needs, built with `@peculiar/asn1-x509`/`asn1-csr` (ASN.1
 * structures only) and signed with `node:crypto`: an EC P-256 key, a PKCS#10 certificate request
 * (CSR) for a node, a self-signed CA certificate, and a client certificate the CA issues from a
 * verified CSR. Parsing and chain checks of finished certificates use `crypto.X509Certificate`
 * and the TLS stack.
 */
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  id_kp_clientAuth,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { EdgeTwinError } from '@edgetwin/sdk';

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_CN = '2.5.4.3';
const OID_O = '2.5.4.10';
/** The organisation every node certificate carries. */
export const NODE_ORG = 'edgetwin:nodes';

export interface PemKeyPair {
  /** PKCS#8 PEM. */
  key: string;
  publicKey: KeyObject;
}

export function generateKey(): PemKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, publicKey };
}

function pem(label: string, der: ArrayBuffer | Buffer): string {
  const b64 = Buffer.from(der as ArrayBuffer).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

function unpem(label: string, text: string): Buffer {
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(text);
  if (!m) throw new EdgeTwinError('ET_CONFIG_INVALID', `expected a PEM ${label}`);
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

function name(cn: string, org?: string): Name {
  const rdn = (type: string, v: string) =>
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: v }) })]);
  return new Name(org === undefined ? [rdn(OID_CN, cn)] : [rdn(OID_O, org), rdn(OID_CN, cn)]);
}

function commonName(n: Name): string | undefined {
  for (const rdn of n) for (const atv of rdn) if (atv.type === OID_CN) return atv.value.toString();
  return undefined;
}

function spki(publicKey: KeyObject): SubjectPublicKeyInfo {
  return AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
}

function keyId(info: SubjectPublicKeyInfo): Buffer {
  return createHash('sha1').update(Buffer.from(info.subjectPublicKey)).digest();
}

function ext(id: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** A CSR for `cn` (signed with `key`, PEM PKCS#8), as PEM. */
export function createCsr(cn: string, key: string): string {
  const privateKey = createPrivateKey(key);
  const info = new CertificationRequestInfo({
    version: 0,
    subject: name(cn, NODE_ORG),
    subjectPKInfo: spki(createPublicKey(privateKey)),
  });
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(info)), privateKey);
  const csr = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    signature: new Uint8Array(signature).buffer,
  });
  return pem('CERTIFICATE REQUEST', AsnConvert.serialize(csr));
}

export interface VerifiedCsr {
  commonName: string;
  publicKey: SubjectPublicKeyInfo;
}

/** Parses a PEM CSR and checks its self-signature (proof of the private key). */
export function verifyCsr(csrPem: string): VerifiedCsr {
  let csr: CertificationRequest;
  try {
    csr = AsnConvert.parse(unpem('CERTIFICATE REQUEST', csrPem), CertificationRequest);
  } catch (err) {
    throw new EdgeTwinError('ET_CONFIG_INVALID', 'the certificate request is not a PEM PKCS#10 CSR', { cause: err });
  }
  const info = csr.certificationRequestInfo;
  const raw = csr.certificationRequestInfoRaw ?? AsnConvert.serialize(info);
  const publicKey = createPublicKey({
    key: Buffer.from(AsnConvert.serialize(info.subjectPKInfo)),
    format: 'der',
    type: 'spki',
  });
  if (publicKey.asymmetricKeyType !== 'ec' && publicKey.asymmetricKeyType !== 'rsa')
    throw new EdgeTwinError('ET_CONFIG_INVALID', 'the certificate request must carry an EC or RSA key');
  const ok = verify('sha256', Buffer.from(raw), publicKey, Buffer.from(csr.signature));
  if (!ok) throw new EdgeTwinError('ET_CONFIG_INVALID', 'the certificate request signature does not verify');
  const cn = commonName(info.subject);
  if (!cn) throw new EdgeTwinError('ET_CONFIG_INVALID', 'the certificate request has no common name');
  return { commonName: cn, publicKey: info.subjectPKInfo };
}

export interface IssueOptions {
  /** The issuer: the CA's certificate (PEM) and key (PEM); omitted for a self-signed CA. */
  issuer?: { cert: string; key: string };
  /** The subject's key when self-signing. */
  selfKey?: string;
  subject: { cn: string; org?: string };
  publicKey: SubjectPublicKeyInfo;
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
}

/** Issues a certificate (PEM) and returns it with its serial number (hex, upper case, as Node prints it). */
export function issueCertificate(o: IssueOptions): { cert: string; serial: string } {
  let issuerName: Name;
  let signingKey: KeyObject;
  let authorityKeyId: Buffer;
  if (o.issuer) {
    const issuerCert = AsnConvert.parse(unpem('CERTIFICATE', o.issuer.cert), Certificate);
    issuerName = issuerCert.tbsCertificate.subject;
    authorityKeyId = keyId(issuerCert.tbsCertificate.subjectPublicKeyInfo);
    signingKey = createPrivateKey(o.issuer.key);
  } else {
    if (!o.selfKey) throw new EdgeTwinError('ET_INTERNAL', 'a self-signed certificate needs its own key');
    issuerName = name(o.subject.cn, o.subject.org);
    authorityKeyId = keyId(o.publicKey);
    signingKey = createPrivateKey(o.selfKey);
  }
  // 16 random bytes, positive (high bit clear) and without a leading zero byte.
  const serialBytes = randomBytes(16);
  serialBytes[0] = (serialBytes[0]! & 0x7f) | 0x40;
  const alg = new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 });
  const usage = o.ca
    ? KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign | KeyUsageFlags.digitalSignature
    : KeyUsageFlags.digitalSignature;
  const extensions = [
    ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: o.ca })),
    ext(id_ce_keyUsage, true, new KeyUsage(usage)),
    ext(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyId(o.publicKey))),
    ext(
      id_ce_authorityKeyIdentifier,
      false,
      new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(authorityKeyId) }),
    ),
  ];
  if (!o.ca) extensions.push(ext(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_clientAuth])));
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(serialBytes).buffer,
    signature: alg,
    issuer: issuerName,
    validity: new Validity({ notBefore: o.notBefore, notAfter: o.notAfter }),
    subject: name(o.subject.cn, o.subject.org),
    subjectPublicKeyInfo: o.publicKey,
    extensions: new Extensions(extensions),
  });
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(tbs)), signingKey);
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: alg,
    signatureValue: new Uint8Array(signature).buffer,
  });
  return { cert: pem('CERTIFICATE', AsnConvert.serialize(cert)), serial: serialBytes.toString('hex').toUpperCase() };
}

/** The SubjectPublicKeyInfo of a PEM private key. */
export function publicKeyInfo(key: string): SubjectPublicKeyInfo {
  return spki(createPublicKey(createPrivateKey(key)));
}
