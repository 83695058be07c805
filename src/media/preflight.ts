/**
 * What a media process checks before it listens, so a careless configuration stops it at once
 * (exit 2, the variable named, through `ConfigError`) instead of failing every handshake or
 * every write later: the certificate and key are readable and belong together, and
 * RECORDINGS_DIR is a directory this process can write into.
 */
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, open, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../config.js';

const problem = (line: string) => new ConfigError(`invalid configuration:\n  ${line}`);

const codeOf = (error: unknown) => (error as NodeJS.ErrnoException).code ?? 'error';

export function checkMediaTls(certFile: string, keyFile: string): void {
  const read = (variable: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw problem(`${variable}: cannot read ${file} (${codeOf(error)})`);
    }
  };
  const cert = read('MEDIA_TLS_CERT_FILE', certFile);
  const key = read('MEDIA_TLS_KEY_FILE', keyFile);
  let matches: boolean;
  try {
    createSecureContext({ cert, key, minVersion: 'TLSv1.3' });
    // OpenSSL drops a key that does not match the certificate without a word; ask explicitly
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch (error) {
    // OpenSSL's reason ("bad end line", "unsupported"), never the key itself
    const reason = (error as Error).message.split(':').at(-1)?.trim() || 'unusable';
    throw problem(
      `MEDIA_TLS_KEY_FILE: ${keyFile} with ${certFile} is not a usable pair: ${reason}`,
    );
  }
  if (!matches) {
    throw problem(
      `MEDIA_TLS_KEY_FILE: ${keyFile} is not the key of the certificate ${certFile} (MEDIA_TLS_CERT_FILE)`,
    );
  }
}

export async function checkRecordingsDir(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) throw problem(`RECORDINGS_DIR: ${dir} is not a directory`);
  try {
    await mkdir(dir, { recursive: true });
    // write access is what matters, and access(W_OK) says yes to root on a read-only mount
    const probe = join(dir, `.write-check-${randomBytes(4).toString('hex')}`);
    await (await open(probe, 'wx')).close();
    await unlink(probe);
  } catch (error) {
    throw problem(`RECORDINGS_DIR: ${dir} is not writable (${codeOf(error)})`);
  }
}
