/** The link's certificates: node keys and CSRs (edge), the node CA's issuing (cloud), secret files. */
export { nodeOfCert, type CertNode } from './node-cert.js';
export {
  SECRET_FILE_MODE,
  SECRET_DIR_MODE,
  secretDir,
  secretFile,
  secretParent,
  writeSecretFile,
} from './secret-files.js';
export {
  NODE_ORG,
  generateKey,
  createCsr,
  verifyCsr,
  issueCertificate,
  publicKeyInfo,
  type PemKeyPair,
  type VerifiedCsr,
  type IssueOptions,
} from './x509.js';
