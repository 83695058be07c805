/**
 * Runs the simulator alone (`npm run simulator`) with its `/_sim/*` control API. The only file
 * of the simulator that reads `process.env`:
 *
 *   SIM_PORT            HTTPS port on 127.0.0.1 (default 4443)
 *   BOT_APP_ID          the bot's app id (token audience, client_id)       required
 *   BOT_APP_SECRET      the bot's client secret                           required
 *   SIM_WEBHOOK_URL     the bot's calling webhook (default http://127.0.0.1:3978/api/calling)
 *   SIM_TLS_CERT_FILE / SIM_TLS_KEY_FILE   PEM files; generated into ./.certs when absent
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import pino from 'pino';
import { ensureDevCerts } from './certs.js';
import { startTelemetry } from '../telemetry/sdk.js';
import { startSimulator } from '@cr-orchestrator/teams-simulator';

const logger = pino({ name: 'simulator' });

function required(name: string): string {
  const value = process.env[name]?.trim();
  if (!value) throw new Error(`${name} is required`);
  return value;
}

async function loadTls(): Promise<{ cert: string; key: string; certFile: string }> {
  const certFile = process.env.SIM_TLS_CERT_FILE;
  const keyFile = process.env.SIM_TLS_KEY_FILE;
  if (certFile && keyFile) {
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    return { cert, key, certFile: resolve(certFile) };
  }
  const dev = await ensureDevCerts(resolve('.certs'), 'simulator', 'rsa');
  return { cert: dev.cert, key: dev.key, certFile: dev.certFile };
}

async function main(): Promise<void> {
  const telemetry = startTelemetry({ role: 'simulator' });
  const port = Number(process.env.SIM_PORT ?? 4443);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error('SIM_PORT must be a port');
  const tls = await loadTls();
  const sim = await startSimulator({
    botAppId: required('BOT_APP_ID'),
    botAppSecret: required('BOT_APP_SECRET'),
    webhookUrl: process.env.SIM_WEBHOOK_URL ?? 'http://127.0.0.1:3978/api/calling',
    tls,
    port,
    controlApi: true,
    logger,
  });
  logger.info(
    {
      baseUrl: sim.baseUrl,
      openIdConfigUrl: sim.openIdConfigUrl,
      graphBaseUrl: sim.graphBaseUrl,
      authorityHost: sim.authorityHost,
      webhookUrl: sim.webhookUrl,
      defaultTenantId: sim.defaultTenantId,
      control: `${sim.baseUrl}/_sim/calls`,
    },
    'simulator listening',
  );
  logger.info(
    `processes that call the simulator must trust its certificate: NODE_EXTRA_CA_CERTS=${tls.certFile}`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'closing simulator');
    sim
      .close()
      .then(() => telemetry.shutdown())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.warn({ err }, 'close failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  logger.warn({ err }, 'simulator failed to start');
  process.exit(1);
});
