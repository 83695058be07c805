/**
 * `npm test`: the static checks (type check, prettier, eslint) and every vitest project at the
 * same time. The tests wait on sockets, Redis, child processes and timers for much of their run
 * and leave a core idle; the checks are pure CPU. So the checks run at idle CPU priority (Linux's
 * SCHED_IDLE through `chrt --idle 0`, else `nice -n 19`): they get only the CPU the tests leave,
 * and a test that must meet a deadline is not slowed by them. What the checks printed comes after
 * the tests' report, with how long each took; the exit code is non-zero when anything failed.
 * Arguments are passed to vitest (`npm test -- --project unit`).
 *
 * `--check [name…]` runs only the checks (or the named ones: typecheck, prettier, eslint), at
 * normal priority (`npm run check`, `npm run typecheck`, `npm run lint`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';

const require = createRequire(import.meta.url);
const started = performance.now();
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** The script of `pkg`'s command-line tool `name`, run with this Node (no npx in between). */
function bin(pkg, name = pkg) {
  const manifest = require.resolve(`${pkg}/package.json`);
  const { bin: bins } = JSON.parse(readFileSync(manifest, 'utf8'));
  return join(dirname(manifest), typeof bins === 'string' ? bins : bins[name]);
}

/** TypeScript 7's native compiler for the type check; eslint keeps TypeScript 5 for its rules. */
const tsc = bin('typescript-native', 'tsc');
/** The checks: each a sequence of commands; the checks run at the same time. */
const CHECKS = [
  {
    name: 'typecheck',
    commands: [
      [tsc, '-p', 'tsconfig.json', '--noEmit'],
      [tsc, '-p', 'src/console/tsconfig.json', '--noEmit'],
    ],
  },
  { name: 'prettier', commands: [[bin('prettier'), '--check', '.']] },
  { name: 'eslint', commands: [[bin('eslint'), '.']] },
];

/** Whether `prefix` can start a process here (installed, and allowed: a sandbox may refuse). */
const works = (prefix) =>
  spawnSync(prefix[0], [...prefix.slice(1), process.execPath, '-e', ''], { stdio: 'ignore' })
    .status === 0;

/** The command prefix that runs a process at the lowest CPU priority this machine offers. */
function idlePriority() {
  const idle = ['chrt', '--idle', '0'];
  if (process.platform === 'linux' && works(idle)) {
    return { prefix: idle, how: 'idle priority (SCHED_IDLE)' };
  }
  const nice = ['nice', '-n', '19'];
  if (process.platform !== 'win32' && works(nice)) {
    return { prefix: nice, how: 'idle priority (nice 19)' };
  }
  return { prefix: [], how: 'normal priority' };
}

const children = new Set();

/** Runs a command; resolves with its exit code (1 when it could not start or was killed). */
function run([command, ...args], options) {
  const child = spawn(command, args, options);
  children.add(child);
  return {
    child,
    done: new Promise((resolve) => {
      child.once('error', (error) => {
        process.stderr.write(`npm test: could not start ${command}: ${error.message}\n`);
        resolve(1);
      });
      child.once('exit', (code) => {
        children.delete(child);
        resolve(code ?? 1);
      });
    }),
  };
}

/** Runs one check's commands in turn, collecting what they print; stops at the first failure. */
async function runCheck({ name, commands }, prefix) {
  let output = '';
  let code = 0;
  for (const command of commands) {
    const step = run([...prefix, process.execPath, ...command], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    step.child.stdout.on('data', (d) => (output += d));
    step.child.stderr.on('data', (d) => (output += d));
    code = await step.done;
    if (code !== 0) break;
  }
  return { name, code, output: output.trimEnd(), took: performance.now() - started };
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const child of children) child.kill(signal);
  });
}

const checkOnly = process.argv[2] === '--check';
const named = checkOnly ? process.argv.slice(3) : [];
const unknown = named.filter((n) => !CHECKS.some((c) => c.name === n));
if (unknown.length > 0) {
  process.stderr.write(`npm test: no check named ${unknown.join(', ')}\n`);
  process.exit(2);
}
const chosen = named.length > 0 ? CHECKS.filter((c) => named.includes(c.name)) : CHECKS;
const priority = checkOnly ? { prefix: [], how: 'normal priority' } : idlePriority();
const checks = Promise.all(chosen.map((c) => runCheck(c, priority.prefix)));

let testsCode = 0;
let testsTook = 0;
if (!checkOnly) {
  const vitest = bin('vitest');
  const tests = run([process.execPath, vitest, 'run', ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  testsCode = await tests.done;
  testsTook = performance.now() - started;
}

const results = await checks;
const failed = results.filter((r) => r.code !== 0);
const lines = ['', `Checks (at the same time, ${priority.how}):`];
for (const r of results) {
  lines.push(
    `  ${r.name.padEnd(10)} ${r.code === 0 ? 'passed' : 'FAILED'} after ${seconds(r.took)}`,
  );
  if (r.output) lines.push(r.output.replace(/^(?=.)/gm, '    '));
}
if (!checkOnly)
  lines.push(`vitest: ${testsCode === 0 ? 'passed' : 'FAILED'} after ${seconds(testsTook)}`);
lines.push(`${checkOnly ? 'checks' : 'npm test'}: ${seconds(performance.now() - started)} in all`);
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(testsCode !== 0 ? testsCode : failed.length > 0 ? 1 : 0);
