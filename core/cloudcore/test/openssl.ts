/** Keys, CSRs and certificates made by Debian's openssl: an independent peer for our CA code. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(args: string[], cwd: string): string {
  return execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A self-signed server certificate for 127.0.0.1 (what an operator gives `--tls-cert/--tls-key`). */
export function serverCert(dir: string): { cert: string; key: string; certFile: string; keyFile: string } {
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'].concat([
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      'server.key',
      '-out',
      'server.crt',
    ]),
    dir,
  );
  return {
    cert: readFileSync(join(dir, 'server.crt'), 'utf8'),
    key: readFileSync(join(dir, 'server.key'), 'utf8'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
  };
}

/** An EC key and a CSR with the subject our node certificates carry. */
export function nodeCsr(dir: string, node: string): { key: string; csr: string } {
  const base = `csr-${node}`;
  openssl(
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat([
      '-subj',
      `/O=edgetwin:nodes/CN=${node}`,
      '-keyout',
      `${base}.key`,
      '-out',
      `${base}.csr`,
    ]),
    dir,
  );
  return { key: readFileSync(join(dir, `${base}.key`), 'utf8'), csr: readFileSync(join(dir, `${base}.csr`), 'utf8') };
}

/** A private CA of its own and a client certificate it signs for `node` (same subject as ours). */
export function foreignClientCert(dir: string, node: string): { cert: string; key: string } {
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'].concat([
      '-subj',
      '/CN=edgetwin cloudcore CA',
      '-keyout',
      'foreign-ca.key',
      '-out',
      'foreign-ca.crt',
    ]),
    dir,
  );
  const { key, csr } = nodeCsr(dir, node);
  writeFileSync(join(dir, 'foreign.csr'), csr);
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl(
    ['x509', '-req', '-in', 'foreign.csr', '-CA', 'foreign-ca.crt', '-CAkey', 'foreign-ca.key'].concat([
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'client.ext',
      '-out',
      'foreign.crt',
    ]),
    dir,
  );
  return { cert: readFileSync(join(dir, 'foreign.crt'), 'utf8'), key };
}

/** `openssl verify -CAfile ca -purpose sslclient cert`: true when openssl accepts the chain. */
export function opensslVerifies(dir: string, caPem: string, certPem: string): boolean {
  writeFileSync(join(dir, 'verify-ca.crt'), caPem);
  writeFileSync(join(dir, 'verify.crt'), certPem);
  try {
    return openssl(['verify', '-CAfile', 'verify-ca.crt', '-purpose', 'sslclient', 'verify.crt'], dir).includes(': OK');
  } catch {
    return false;
  }
}
