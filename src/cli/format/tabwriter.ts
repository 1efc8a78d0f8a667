/**
 * Column alignment as done by Go's text/tabwriter (without its escape, HTML-filter and
 * right-alignment features): cells are tab-terminated, the last cell of a line is not
 * part of any column, and a column's width is set per block of consecutive lines that
 * have a cell in it. The docker CLI uses `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`.
 */

export interface TabwriterOptions {
  /** Minimal cell width, padding included. */
  readonly minWidth: number;
  /** Padding added to the widest cell of a column. */
  readonly padding: number;
  readonly padChar: string;
}

/** The docker CLI's settings for `table` output. */
export const DOCKER_TABWRITER: TabwriterOptions = { minWidth: 10, padding: 3, padChar: ' ' };

const SURROGATE = /[\uD800-\uDFFF]/;

/** Go's utf8.RuneCountInString: code points, so a pair of surrogates is one. */
function runeCount(t: string): number {
  return [...t].length;
}

/** Aligns the tab-separated columns of `text`. */
export function tabwrite(text: string, options: TabwriterOptions = DOCKER_TABWRITER): string {
  const lines: string[][] = text.split('\n').map((line) => line.split('\t'));
  // Text without surrogate pairs (nearly all) is as wide as its UTF-16 length: one test for
  // the whole text rather than one per cell.
  const width = SURROGATE.test(text) ? runeCount : (t: string) => t.length;
  const pads: string[] = [];
  const pad = (n: number): string => (pads[n] ??= options.padChar.repeat(n));
  const out: string[] = [];

  const writeLines = (widths: readonly number[], line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i] ?? [];
      for (let j = 0; j < line.length; j++) {
        const cell = line[j] as string;
        out.push(cell);
        const w = widths[j];
        if (w !== undefined) out.push(pad(Math.max(w - width(cell), 0)));
      }
      if (i + 1 < lines.length) out.push('\n');
    }
  };

  const format = (widths: number[], line0: number, line1: number): void => {
    const column = widths.length;
    for (let current = line0; current < line1; current++) {
      if (column >= (lines[current]?.length ?? 0) - 1) continue;
      // A cell exists in this column: print the lines above it, then size the block.
      writeLines(widths, line0, current);
      line0 = current;
      let w = options.minWidth;
      for (; current < line1; current++) {
        const line = lines[current] ?? [];
        if (column >= line.length - 1) break;
        w = Math.max(w, width(line[column] ?? '') + options.padding);
      }
      widths.push(w);
      format(widths, line0, current);
      widths.pop();
      line0 = current;
    }
    writeLines(widths, line0, line1);
  };

  format([], 0, lines.length);
  return out.join('');
}
