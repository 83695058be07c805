/**
 * Development certificates for the demo, the simulator and the tests: one self-signed
 * certificate valid for `localhost` and `127.0.0.1`, written as PEM files. Processes that must
 * trust it get its path in `NODE_EXTRA_CA_CERTS` (read by Node at start-up, for both `fetch`
 * and `https`). Never used in production, where certificates come from a public CA.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import selfsigned from 'selfsigned';

export interface DevCertFiles {
  /** PEM certificate (also the trust anchor: it is self-signed). */
  certFile: string;
  /** PEM private key. */
  keyFile: string;
}

export interface DevCerts extends DevCertFiles {
  cert: string;
  key: string;
}

/**
 * Create (or reuse, when both files exist and are still valid for a day) a self-signed
 * certificate in `dir`.
 * @param keyType `ec` gives an ECDSA P-256 key (media TLS); `rsa` a 2048-bit RSA key.
 */
export async function ensureDevCerts(
  dir: string,
  name = 'dev',
  keyType: 'rsa' | 'ec' = 'ec',
): Promise<DevCerts> {
  await mkdir(dir, { recursive: true });
  const certFile = join(dir, `${name}-cert.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  const existing = await readPair(certFile, keyFile);
  if (existing) return { certFile, keyFile, ...existing };
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 30 * 24 * 3600_000);
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType,
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  await writeFile(keyFile, pems.private, { mode: 0o600 });
  await writeFile(certFile, pems.cert);
  return { certFile, keyFile, cert: pems.cert, key: pems.private };
}

async function readPair(
  certFile: string,
  keyFile: string,
): Promise<{ cert: string; key: string } | undefined> {
  try {
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    const { X509Certificate } = await import('node:crypto');
    const validTo = Date.parse(new X509Certificate(cert).validTo);
    return validTo - Date.now() > 24 * 3600_000 ? { cert, key } : undefined;
  } catch {
    return undefined;
  }
}
