/**
 * Go's text/tabwriter for the few outputs docker aligns itself (top, version, info):
 * cells are tab-terminated, each column as wide as its widest cell plus `padding`
 * (at least `minWidth`); the last cell of a line is not aligned.
 */
export function tabwrite(lines: readonly (readonly string[])[], opts: { minWidth: number; padding: number }): string {
  const widths: number[] = [];
  for (const cells of lines) {
    cells.slice(0, -1).forEach((c, i) => {
      const w = Math.max([...c].length + opts.padding, opts.minWidth);
      if (w > (widths[i] ?? 0)) widths[i] = w;
    });
  }
  let out = '';
  for (const cells of lines) {
    out += cells.map((c, i) => (i < cells.length - 1 ? c + ' '.repeat(Math.max((widths[i] ?? 0) - [...c].length, 0)) : c)).join('');
    out += '\n';
  }
  return out;
}
