/**
 * Docker's human-readable units (go-units): durations for `Up 5 minutes`, sizes for `4.2MB`.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.round(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(seconds / 3600);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** `units.HumanSizeWithPrecision(size, 3)`: 4.19MB, 1.23GB, 512B. */
export function humanSize(bytes: number): string {
  let i = 0;
  let v = bytes;
  while (v >= 1000 && i < DECIMAL.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${DECIMAL[i]}`;
}
