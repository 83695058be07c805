/** Times and ids as an operator reads them. */

/** `+1.234 s`, `+2 min 05 s`: time since the invite. */
export function sinceInvite(at: number, invitedAt: number): string {
  const ms = Math.max(0, at - invitedAt);
  if (ms < 60_000) return `+${(ms / 1000).toFixed(3)} s`;
  const s = Math.floor(ms / 1000);
  return `+${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** Local wall-clock time with seconds. */
export function clock(at: number): string {
  return new Date(at).toLocaleTimeString(undefined, { hour12: false });
}

/** Local date and time. */
export function dateTime(at: number): string {
  return new Date(at).toLocaleString(undefined, { hour12: false });
}

/** The first 8 characters of an id; the whole id goes in a tooltip. */
export const shortId = (id: string): string => (id.length > 12 ? `${id.slice(0, 8)}…` : id);

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** The last segment of a dotted state path, with its parents in brackets: `recording (live › established)`. */
export function stateLabel(path: string): string {
  const parts = path.split('.');
  const leaf = parts.pop() ?? path;
  return parts.length ? `${leaf} (${parts.join(' › ')})` : leaf;
}
