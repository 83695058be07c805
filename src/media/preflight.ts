/**
 * What a media process checks before it listens, so a careless configuration stops it at once
 * (exit 2, the variable named, through `ConfigError`) instead of failing every handshake or
 * every write later: the certificate and key are readable and belong together, and
 * RECORDINGS_DIR is a directory this process can write into.
 */
import { randomBytes } from 'node:crypto';
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
  try {
    createSecureContext({ cert, key, minVersion: 'TLSv1.3' });
  } catch (error) {
    // OpenSSL's reason ("key values mismatch", "bad end line"), never the key itself
    const reason = (error as Error).message.split(':').at(-1)?.trim() ?? 'unusable';
    throw problem(
      `MEDIA_TLS_KEY_FILE: the key ${keyFile} and the certificate ${certFile} (MEDIA_TLS_CERT_FILE) do not make a usable pair: ${reason}`,
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
