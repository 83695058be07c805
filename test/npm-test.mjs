/**
 * `npm test`: the static checks (`npm run check`: type check, prettier, eslint) and every vitest
 * project at the same time. The tests wait on sockets, Redis, child processes and timers for much
 * of their run and leave a core idle; the checks are pure CPU. So the checks run at idle CPU
 * priority (Linux's SCHED_IDLE through `chrt --idle 0`, else `nice -n 19`): they get only the CPU
 * the tests leave, and a test that must meet a deadline is not slowed by them. What the checks
 * printed comes after the tests' report, with how long they took; the exit code is non-zero when
 * either failed. Arguments are passed to vitest (`npm test -- --project unit`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import process from 'node:process';

const started = performance.now();
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const exists = (command) => spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;

/** The command prefix that runs a process at the lowest CPU priority this machine offers. */
function idlePriority() {
  if (process.platform === 'linux' && exists('chrt')) {
    return { prefix: ['chrt', '--idle', '0'], how: 'SCHED_IDLE' };
  }
  if (process.platform !== 'win32' && exists('nice')) {
    return { prefix: ['nice', '-n', '19'], how: 'nice 19' };
  }
  return { prefix: [], how: 'normal priority' };
}

/** Runs `command` and resolves with its exit code (1 when it could not start or was killed). */
function run(command, args, options) {
  const child = spawn(command, args, options);
  const done = new Promise((resolve) => {
    child.once('error', (error) => {
      process.stderr.write(`npm test: could not start ${command}: ${error.message}\n`);
      resolve(1);
    });
    child.once('exit', (code) => resolve(code ?? 1));
  });
  return { child, done };
}

const priority = idlePriority();
const [first, ...rest] = [...priority.prefix, 'npm', 'run', '-s', 'check'];
let checkOutput = '';
const check = run(first, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
check.child.stdout?.on('data', (d) => (checkOutput += d));
check.child.stderr?.on('data', (d) => (checkOutput += d));
let checkTook = 0;
const checkDone = check.done.then((code) => {
  checkTook = performance.now() - started;
  const verdict =
    code === 0 ? 'passed' : `FAILED (exit code ${code}; its output follows the tests)`;
  process.stdout.write(`\n[check] ${verdict} after ${seconds(checkTook)}\n`);
  return code;
});

const tests = run('npx', ['vitest', 'run', ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    check.child.kill(signal);
    tests.child.kill(signal);
  });
}
const testsCode = await tests.done;
const testsTook = performance.now() - started;
const checkCode = await checkDone;

process.stdout.write(
  `\nnpm run check (type check, prettier, eslint; beside the tests, ${priority.how}):\n`,
);
process.stdout.write(checkOutput.trim() ? `${checkOutput.trimEnd()}\n` : '(no output)\n');
process.stdout.write(
  `\nnpm test: vitest ${testsCode === 0 ? 'passed' : 'FAILED'} in ${seconds(testsTook)}, ` +
    `check ${checkCode === 0 ? 'passed' : 'FAILED'} in ${seconds(checkTook)}, ` +
    `${seconds(performance.now() - started)} in all\n`,
);
process.exit(testsCode !== 0 ? testsCode : checkCode);
