/**
 * The load generator as a function of its arguments and environment, returning the exit code:
 * it starts the simulator on `--sim-port` (the deployment must already point at it), runs the
 * load, prints a progress line on stderr and the summary table on stdout.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { startSimulator, type Simulator } from '@cr-orchestrator/teams-simulator';
import { ensureDevCerts } from '../certs.js';
import { ArgsError, parseLoadgenArgs, USAGE, type LoadgenOptions } from './args.js';
import { runLoad, type LoadSummary, type Progress } from './run.js';

export const EXIT = { ok: 0, mishandled: 1, usage: 2 } as const;

export interface LoadgenIo {
  env: Record<string, string | undefined>;
  out(line: string): void;
  err(text: string): void;
  /** Rewrite the progress line in place (else one line per second). */
  isTty: boolean;
}

/** The simulator's URLs for a port: what the deployment under load must be configured with. */
export function simulatorUrls(port: number) {
  const baseUrl = `https://localhost:${port}`;
  return {
    TEAMS_OPENID_CONFIG_URL: `${baseUrl}/v1/.well-known/OpenIdConfiguration`,
    GRAPH_BASE_URL: `${baseUrl}/v1.0`,
    ENTRA_AUTHORITY_HOST: baseUrl,
  };
}

async function tls(
  env: LoadgenIo['env'],
): Promise<{ cert: string; key: string; certFile: string }> {
  const certFile = env.SIM_TLS_CERT_FILE;
  const keyFile = env.SIM_TLS_KEY_FILE;
  if (certFile && keyFile) {
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    return { cert, key, certFile: resolve(certFile) };
  }
  const dev = await ensureDevCerts(resolve('.certs'), 'simulator', 'rsa');
  return { cert: dev.cert, key: dev.key, certFile: dev.certFile };
}

const ms = (n: number) => (Number.isFinite(n) ? `${Math.round(n)} ms` : '—');

function progressLine(p: Progress): string {
  return (
    `loadgen ${p.elapsedS.toFixed(0)} s: placed ${p.placed}, answered ${p.answered}, ` +
    `live ${p.live}, missed ${p.missed}, errors ${p.errors}, duplicates ${p.duplicates}`
  );
}

/** The summary as a Markdown table (readable in a terminal, pasteable into an issue). */
export function summaryTable(o: LoadgenOptions, s: LoadSummary): string[] {
  const rows: [string, string | number][] = [
    ['calls offered', `${s.offered} (${o.ratePerSec}/s for ${o.durationS} s)`],
    ['answered and ended well', s.outcomes.ok],
    ['rejected by policy', s.outcomes.rejected],
    [
      'answer latency p50 / p90 / p99 / max',
      [s.answerMs.p50, s.answerMs.p90, s.answerMs.p99, s.answerMs.max].map(ms).join(' / '),
    ],
    [`missed (no answer within ${o.answerDeadlineMs} ms)`, s.outcomes.missed],
    ['duplicates (repeated answer or recording report)', s.duplicates],
    ['errors (failed delivery, early end, failure)', s.outcomes.error],
    ['notifications sent / not answered 2xx', `${s.notifications} / ${s.failedDeliveries}`],
    ['generator lag p99', ms(s.generatorLagP99Ms)],
    ['mishandled calls', s.mishandled],
  ];
  return [
    '| measure | value |',
    '| --- | --- |',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    ...s.examples.map((e) => `- ${e}`),
  ];
}

export async function runLoadgen(argv: readonly string[], io: LoadgenIo): Promise<number> {
  let options: LoadgenOptions;
  try {
    const parsed = parseLoadgenArgs(argv);
    if ('help' in parsed) {
      io.out(USAGE);
      return EXIT.ok;
    }
    options = parsed;
  } catch (error) {
    if (!(error instanceof ArgsError)) throw error;
    io.err(`loadgen: ${error.message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const botAppId = io.env.BOT_APP_ID?.trim();
  const botAppSecret = io.env.BOT_APP_SECRET?.trim();
  if (!botAppId || !botAppSecret) {
    io.err("loadgen: BOT_APP_ID and BOT_APP_SECRET must be set (the deployment's own)\n");
    return EXIT.usage;
  }
  let sim: Simulator;
  try {
    sim = await startSimulator({
      botAppId,
      botAppSecret,
      webhookUrl: options.targetUrl,
      tls: await tls(io.env),
      port: options.simPort,
      answerDeadlineMs: options.answerDeadlineMs,
    });
  } catch (error) {
    io.err(
      `loadgen: the simulator could not start on port ${options.simPort}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return EXIT.usage;
  }
  try {
    io.err(`loadgen: simulator at ${sim.baseUrl}, target ${options.targetUrl}\n`);
    const summary = await runLoad(
      sim,
      options,
      options.progress
        ? (p) => io.err(io.isTty ? `\r${progressLine(p)}\x1b[K` : `${progressLine(p)}\n`)
        : undefined,
    );
    if (options.progress && io.isTty) io.err('\n');
    for (const line of summaryTable(options, summary)) io.out(line);
    return summary.mishandled > 0 ? EXIT.mishandled : EXIT.ok;
  } finally {
    await sim.close();
  }
}
