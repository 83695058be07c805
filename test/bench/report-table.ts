/** Markdown helpers shared by the report sections. */
export const row = (cells: (string | number)[]): string => `| ${cells.join(' | ')} |`;
export const table = (head: string[], rows: (string | number)[][]): string =>
  [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');
export const verdict = (ok: boolean): string => (ok ? '**met**' : '**missed**');
