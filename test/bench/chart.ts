/**
 * B1's latency distribution as an SVG: one line per (rate, system or floor), latency (ms, log
 * scale) against the percentile, with the percentile axis stretched towards the tail
 * (x = -log10(1 - q), so 50, 90, 99 and 99.9 sit at equal steps) — the usual way to show a
 * latency distribution without hiding the tail. Pure: series in, SVG text out.
 */

/** The percentiles each run keeps for the chart (nearest rank over every answered call). */
export const CHART_QUANTILES = [
  0.01, 0.1, 0.25, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.925, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999,
] as const;

export interface ChartSeries {
  /** Legend text, e.g. "system 100/s". */
  label: string;
  /** Floor lines are dashed. */
  floor: boolean;
  /** Latency (ms) at each of `CHART_QUANTILES`, same order. */
  ms: readonly number[];
}

const WIDTH = 760;
const HEIGHT = 420;
const PAD = { left: 64, right: 180, top: 36, bottom: 48 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const X_TICKS: [number, string][] = [
  [0.5, 'p50'],
  [0.9, 'p90'],
  [0.99, 'p99'],
  [0.999, 'p99.9'],
];

const tail = (q: number): number => -Math.log10(1 - q);
const escape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Log-scale ticks (1, 2, 5 × 10^k) covering [lo, hi]. */
function yTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** k;
      if (v >= lo && v <= hi) ticks.push(v);
    }
  }
  return ticks;
}

export function latencyChart(title: string, series: readonly ChartSeries[]): string {
  const values = series.flatMap((s) => s.ms.filter((v) => Number.isFinite(v)));
  // Latencies are whole milliseconds; a 0 ms answer is drawn at 0.5 ms on the log axis.
  const lo = Math.max(0.5, Math.min(...values, 1));
  const hi = Math.max(...values, 10);
  const yLo = Math.log10(lo);
  const yHi = Math.log10(hi * 1.1);
  const xLo = tail(CHART_QUANTILES[0]);
  const xHi = tail(CHART_QUANTILES[CHART_QUANTILES.length - 1]!);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const px = (q: number): number => PAD.left + ((tail(q) - xLo) / (xHi - xLo)) * plotW;
  const py = (ms: number): number =>
    PAD.top + plotH - ((Math.log10(Math.max(ms, lo)) - yLo) / (yHi - yLo)) * plotH;
  const f = (n: number): string => n.toFixed(1);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${PAD.left}" y="20" font-size="14" font-weight="bold">${escape(title)}</text>`,
  ];
  for (const v of yTicks(lo, hi * 1.1)) {
    const y = f(py(v));
    parts.push(
      `<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${PAD.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${v}</text>`,
    );
  }
  for (const [q, name] of X_TICKS) {
    const x = f(px(q));
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#ddd"/>`,
      `<text x="${x}" y="${PAD.top + plotH + 16}" text-anchor="middle">${name}</text>`,
    );
  }
  parts.push(
    `<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="gray"/>`,
    `<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">percentile of answered calls</text>`,
    `<text transform="translate(16 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">answer latency, ms (log)</text>`,
  );
  series.forEach((s, i) => {
    const colour = COLOURS[Math.floor(i / 2) % COLOURS.length]!;
    const points = CHART_QUANTILES.flatMap((q, j) => {
      const v = s.ms[j];
      return v === undefined || !Number.isFinite(v) ? [] : [`${f(px(q))},${f(py(v))}`];
    });
    const dash = s.floor ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<polyline points="${points.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`,
    );
    const ly = PAD.top + 10 + i * 20;
    const lx = PAD.left + plotW + 14;
    parts.push(
      `<line x1="${lx}" x2="${lx + 26}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 32}" y="${ly}" dominant-baseline="middle">${escape(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
