/**
 * The load generator's command line, validated and bounded: every number has a range, every
 * flag is known, and a mistake is an `ArgsError` that says which flag and what is allowed.
 */

export interface LoadgenOptions {
  /** New calls per second, open loop. */
  ratePerSec: number;
  /** How long new calls arrive, seconds. */
  durationS: number;
  /** Relative weights of call kinds (`p2p:2,meeting:1`). */
  mix: { p2p: number; meeting: number };
  /** Roster changes (a join or a leave) per live call per second. */
  rosterChurn: number;
  /** Share of calls whose every notification is delivered twice. */
  duplicates: number;
  /** How long a call stays established before the remote side hangs up, seconds. */
  holdS: number;
  /** The deployment's calling webhook (`…/api/calling`). */
  targetUrl: string;
  /** The simulator's HTTPS port (the deployment is configured against it). */
  simPort: number;
  /** Teams' answer deadline for a policy recorder, ms. */
  answerDeadlineMs: number;
  /** Print a progress line every second to stderr. */
  progress: boolean;
}

export class ArgsError extends Error {
  override name = 'ArgsError';
}

export const USAGE = `usage: npm run loadgen -- --target <ingress URL> [options]

  --target URL          the deployment's calling webhook, e.g. http://127.0.0.1:3978/api/calling
                        (a URL without a path gets /api/calling)                      required
  --rate N              new calls per second, open loop (0 < N <= 2000)              default 10
  --duration S          seconds during which new calls arrive (1..86400)              default 60
  --mix K:W,...         call kinds and weights, kinds p2p and meeting (W 0..1000)     default p2p:2,meeting:1
  --roster-churn R      roster changes per live call per second (0..10)               default 0
  --duplicates F        share of calls whose notifications come twice (0..1)          default 0
  --hold S              seconds a call stays established (0..3600)                    default 5
  --sim-port P          the simulator's HTTPS port (1..65535)                         default 4443
  --answer-deadline MS  answer deadline of a policy recorder (500..60000)             default 5000
  --no-progress         no progress line on stderr
  --help                this text

The deployment must trust the simulator (see docs/load-generator.md): BOT_APP_ID and
BOT_APP_SECRET are read from the environment and must be the deployment's.`;

const FLAGS = new Set([
  'target',
  'rate',
  'duration',
  'mix',
  'roster-churn',
  'duplicates',
  'hold',
  'sim-port',
  'answer-deadline',
]);

function number(flag: string, raw: string, min: number, max: number, integer = false): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)))
    throw new ArgsError(`--${flag} must be ${integer ? 'an integer' : 'a number'}, got "${raw}"`);
  if (value < min || value > max)
    throw new ArgsError(`--${flag} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function mix(raw: string): LoadgenOptions['mix'] {
  const out = { p2p: 0, meeting: 0 };
  for (const part of raw.split(',')) {
    const [kind, weight, extra] = part.split(':').map((s) => s.trim());
    if (kind !== 'p2p' && kind !== 'meeting')
      throw new ArgsError(`--mix: unknown call kind "${kind ?? ''}" (p2p or meeting)`);
    if (weight === undefined || extra !== undefined)
      throw new ArgsError(`--mix: "${part}" must be kind:weight`);
    out[kind] = number('mix', weight, 0, 1000, true);
  }
  if (out.p2p + out.meeting === 0) throw new ArgsError('--mix: at least one weight must be > 0');
  return out;
}

function target(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ArgsError(`--target must be an http(s) URL, got "${raw.slice(0, 200)}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ArgsError(`--target must be an http(s) URL, got ${url.protocol}`);
  if (url.username || url.password) throw new ArgsError('--target must not carry credentials');
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/api/calling';
  return url.toString();
}

/** Parses `argv` (the arguments after the script); `{ help: true }` when help was asked. */
export function parseLoadgenArgs(argv: readonly string[]): LoadgenOptions | { help: true } {
  const raw = new Map<string, string>();
  let progress = true;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { help: true };
    if (arg === '--no-progress') {
      progress = false;
      continue;
    }
    if (!arg.startsWith('--')) throw new ArgsError(`unexpected argument "${arg.slice(0, 100)}"`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (!FLAGS.has(name)) throw new ArgsError(`unknown option --${name.slice(0, 100)}`);
    if (raw.has(name)) throw new ArgsError(`--${name} given twice`);
    const value = inline ?? argv[(i += 1)];
    if (value === undefined) throw new ArgsError(`--${name} needs a value`);
    raw.set(name, value);
  }
  const get = (name: string, fallback: string) => raw.get(name) ?? fallback;
  const url = raw.get('target');
  if (url === undefined) throw new ArgsError('--target is required (the ingress URL)');
  const ratePerSec = number('rate', get('rate', '10'), 0, 2000);
  if (ratePerSec === 0) throw new ArgsError('--rate must be greater than 0');
  return {
    ratePerSec,
    durationS: number('duration', get('duration', '60'), 1, 86_400),
    mix: mix(get('mix', 'p2p:2,meeting:1')),
    rosterChurn: number('roster-churn', get('roster-churn', '0'), 0, 10),
    duplicates: number('duplicates', get('duplicates', '0'), 0, 1),
    holdS: number('hold', get('hold', '5'), 0, 3600),
    targetUrl: target(url),
    simPort: number('sim-port', get('sim-port', '4443'), 1, 65_535, true),
    answerDeadlineMs: number('answer-deadline', get('answer-deadline', '5000'), 500, 60_000, true),
    progress,
  };
}
