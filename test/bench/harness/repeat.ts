/**
 * Warm-up, then `repeats` measured runs; the run reported is the median one by a chosen key
 * (every run is kept in the JSON so the spread can be seen).
 */

export interface Repeated<R> {
  median: R;
  runs: R[];
}

export async function repeated<R>(
  repeats: number,
  run: (index: number) => Promise<R>,
  key: (result: R) => number,
): Promise<Repeated<R>> {
  const runs: R[] = [];
  for (let i = 0; i < repeats; i += 1) runs.push(await run(i));
  const order = [...runs].sort((a, b) => key(a) - key(b));
  return { median: order[Math.floor((order.length - 1) / 2)]!, runs };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A cleanup step that may not finish (a server waiting for connections an overloaded run left
 * open): waits at most `ms`, then warns and goes on, so a finished benchmark still reports.
 */
export async function bounded(what: string, step: Promise<unknown>, ms = 15_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  const outcome = await Promise.race([step.then(() => 'done' as const), late]).catch(
    (error: unknown) => (console.warn(`bench cleanup: ${what} failed: ${String(error)}`), 'done'),
  );
  clearTimeout(timer);
  if (outcome === 'late') console.warn(`bench cleanup: ${what} still running after ${ms} ms; left`);
}
