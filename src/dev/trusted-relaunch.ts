/**
 * Node reads NODE_EXTRA_CA_CERTS only at start. A process that talks TLS to endpoints with
 * generated certificates (the demo, the benchmarks) restarts itself once with them trusted.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDevCerts } from './certs.js';

/**
 * Ensure the web (RSA) and media (ECDSA) certificates `<web>`/`media` in `dir`; unless this
 * process already trusts them, run it again with them trusted and resolve with that run's exit
 * code. Resolves undefined in the trusting process.
 */
export async function relaunchTrusting(dir: string, web: string): Promise<number | undefined> {
  const [webCerts, mediaCerts] = await Promise.all([
    ensureDevCerts(dir, web, 'rsa'),
    ensureDevCerts(dir, 'media', 'ec'),
  ]);
  const bundle = join(dir, `trusted-${web}.pem`);
  if (process.env.NODE_EXTRA_CA_CERTS === bundle) return undefined;
  await writeFile(bundle, `${webCerts.cert}\n${mediaCerts.cert}\n`);
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: bundle },
    stdio: 'inherit',
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
}
