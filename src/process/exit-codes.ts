/**
 * How a process of the orchestrator ends, in one place: the launcher (src/process/launcher.ts)
 * and whatever runs the roles in production read these. A configuration error cannot be cured by
 * restarting, so the launcher stops instead of restarting a child that exited with it.
 */
export const EXIT = {
  /** Shut down as asked (SIGTERM or SIGINT), every stage within its deadline. */
  ok: 0,
  /** A failure at run time: start-up failed for another reason, a stage overran, a second signal. */
  fatal: 1,
  /** The configuration (environment or policy file) was refused; fix it, do not restart. */
  config: 2,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
