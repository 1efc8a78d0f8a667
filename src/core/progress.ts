/**
 * Docker's progress text (jsonmessage's `JSONProgress.String`), shared by the daemon (which
 * sends it beside each `progressDetail`, at its width of 200 columns) and the CLI (which
 * redraws it at the terminal's width).
 */

/** go-units `HumanSizeWithPrecision(size, 4)`: `2.152MB`, `32.77kB`, `512B`. */
export function humanSize4(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let v = bytes;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/**
 * `[=====>        ]  2.15MB/4.3MB` for a terminal `width` columns wide: the bar only past
 * 110 columns, the numbers alone below; nothing when there is nothing to show.
 */
export function progressString(current: number, total: number, width = 200): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize4(current).padStart(8);
  let percentage = Math.floor(Math.floor((current / total) * 100) / 2);
  if (percentage > 50) percentage = 50;
  let bar = '';
  if (width > 110) bar = `[${'='.repeat(percentage)}>${' '.repeat(Math.max(0, 50 - percentage))}] `;
  const numbers = current > total ? humanSize4(current).padStart(8) : `${humanSize4(current).padStart(8)}/${humanSize4(total)}`;
  return bar + numbers;
}
