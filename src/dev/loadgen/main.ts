/**
 * `npm run loadgen -- --target <ingress URL> …`: drives a deployment with simulated Teams calls
 * and prints what became of them (docs/load-generator.md). Like `npm run simulator`, this entry
 * point reads BOT_APP_ID, BOT_APP_SECRET and SIM_TLS_CERT_FILE / SIM_TLS_KEY_FILE from the
 * environment. Exit codes: 0 every call handled, 1 a call mishandled, 2 bad arguments or setup.
 */
import { runLoadgen } from './cli.js';

runLoadgen(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (text) => process.stderr.write(text),
  isTty: process.stderr.isTTY === true,
}).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `loadgen failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(2);
  },
);
