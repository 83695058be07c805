import { describe, expect, it } from 'vitest';
import { CHART_QUANTILES, latencyChart } from '../bench/chart.js';

const polylines = (svg: string): { points: [number, number][]; dashed: boolean }[] =>
  [...svg.matchAll(/<polyline points="([^"]*)"[^>]*?(stroke-dasharray="[^"]*")?\/>/g)].map((m) => ({
    points: m[1]!
      .split(' ')
      .filter(Boolean)
      .map((p) => p.split(',').map(Number) as [number, number]),
    dashed: m[2] !== undefined,
  }));

describe('B1 latency chart', () => {
  const rising = CHART_QUANTILES.map((q) => Math.round(5 + 100 * q ** 8));
  const flat = CHART_QUANTILES.map(() => 3);

  it('draws one line per series, slower latencies higher up, the tail to the right', () => {
    const svg = latencyChart('B1', [
      { label: 'system 100/s', floor: false, ms: rising },
      { label: 'floor 100/s', floor: true, ms: flat },
    ]);
    const [system, floor] = polylines(svg);
    expect(system!.points).toHaveLength(CHART_QUANTILES.length);
    expect(system!.dashed).toBe(false);
    expect(floor!.dashed).toBe(true);
    for (let i = 1; i < system!.points.length; i++) {
      expect(system!.points[i]![0]).toBeGreaterThan(system!.points[i - 1]![0]);
      expect(system!.points[i]![1]).toBeLessThanOrEqual(system!.points[i - 1]![1]);
    }
    // A floor that is faster everywhere lies below the system's line (larger y) at every point.
    floor!.points.forEach(([, y], i) => expect(y).toBeGreaterThan(system!.points[i]![1]));
    expect(new Set(floor!.points.map(([, y]) => y)).size).toBe(1);
  });

  it('skips missing percentiles and escapes labels', () => {
    const ms = rising.map((v, i) => (i === 3 ? Number.NaN : v));
    const svg = latencyChart('a <b> & "c"', [{ label: '<x>', floor: false, ms }]);
    expect(polylines(svg)[0]!.points).toHaveLength(CHART_QUANTILES.length - 1);
    expect(svg).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(svg).toContain('&lt;x&gt;');
    expect(svg).not.toContain('<x>');
  });
});
