/**
 * Time rendering and parsing as the docker CLI does it: Go's `time.Time.String()` for
 * `CreatedAt` columns, RFC3339Nano with fixed width for `events`, and
 * `timetypes.GetTimestamp` for `--since`/`--until` (durations, RFC3339 dates, Unix times).
 */
import { InvalidArgument } from '../core/errors.js';
import { parseDuration } from './units.js';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

let zoneFormatter: Intl.DateTimeFormat | undefined;

function zoneName(d: Date): string {
  const tz = process.env.TZ;
  if (d.getTimezoneOffset() === 0 && (tz === undefined || tz === '' || tz === 'UTC' || tz === 'Etc/UTC' || tz === ':/etc/localtime')) return 'UTC';
  zoneFormatter ??= new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' });
  return zoneFormatter.formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? 'UTC';
}

function offset(d: Date, colon: boolean): string {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${sign}${pad(Math.trunc(a / 60))}${colon ? ':' : ''}${pad(a % 60)}`;
}

function localDate(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function localClock(d: Date): string {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Go's `time.Unix(sec, 0).String()`: `2024-01-02 15:04:05 +0000 UTC`, in local time. */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  return `${localDate(d)} ${localClock(d)} ${offset(d, false)} ${zoneName(d)}`;
}

/** `jsonmessage.RFC3339NanoFixed` (`2006-01-02T15:04:05.000000000Z07:00`) in local time. */
export function rfc3339NanoFixed(unixNanos: bigint): string {
  const ms = Number(unixNanos / 1_000_000n);
  const d = new Date(ms);
  const nanos = ((unixNanos % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const zone = d.getTimezoneOffset() === 0 ? 'Z' : offset(d, true);
  return `${localDate(d)}T${localClock(d)}.${nanos.toString().padStart(9, '0')}${zone}`;
}

/** Go's RFC3339 (seconds precision) in local time: `history -H=false`. */
export function rfc3339(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const zone = d.getTimezoneOffset() === 0 ? 'Z' : offset(d, true);
  return `${localDate(d)}T${localClock(d)}${zone}`;
}

/**
 * `timetypes.GetTimestamp`: what `--since`/`--until` send to the daemon. A Go duration
 * counts back from `now` (`10m`), dates are RFC3339-ish (zone optional: local time),
 * and Unix timestamps (`1700000000.5`) pass through.
 */
export function getTimestamp(value: string, now: Date = new Date()): string {
  if (value !== '0') {
    try {
      const ns = parseDuration(value);
      return String(Math.trunc((now.getTime() - ns / 1e6) / 1000));
    } catch {
      // not a duration
    }
  }
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$/.exec(value);
  if (!m) {
    if (value.includes('-')) throw new InvalidArgument(`parsing time "${value}": cannot parse as a date`);
    throw new InvalidArgument(`failed to parse value as time or duration: "${value}"`);
  }
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  // Go's time.Parse refuses what JavaScript's Date would roll over (month 13, day 45, ...).
  const daysIn = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
  const range = Number(mo) < 1 || Number(mo) > 12 ? 'month' : Number(d) < 1 || Number(d) > daysIn ? 'day' : Number(h) > 23 ? 'hour' : Number(mi) > 59 ? 'minute' : Number(s) > 59 ? 'second' : undefined;
  if (range !== undefined) throw new InvalidArgument(`parsing time "${value}": ${range} out of range`);
  let ms: number;
  if (zone === undefined) {
    ms = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)).getTime();
  } else {
    ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
    if (zone !== 'Z' && zone !== 'z') {
      const sign = zone[0] === '-' ? -1 : 1;
      ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
    }
  }
  const secs = Math.floor(ms / 1000);
  return `${secs}.${frac.padEnd(9, '0')}`;
}

/**
 * Go's `time.Time.String()` of an RFC3339(Nano) timestamp from the API (`Created` of a
 * network): `2024-01-02 15:04:05.123456789 +0000 UTC` in local time, trailing zeros of the
 * fraction dropped. An empty or unparseable value is Go's zero time.
 */
export function goTimeStringRfc3339(value: string | undefined): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(value ?? '');
  const ms = m ? Date.parse(`${m[1]}${m[3]?.toUpperCase()}`) : Number.NaN;
  if (!m || Number.isNaN(ms) || ms <= -62135596800000) return '0001-01-01 00:00:00 +0000 UTC';
  const d = new Date(ms);
  const frac = (m[2] ?? '').replace(/0+$/, '');
  return `${localDate(d)} ${localClock(d)}${frac === '' ? '' : `.${frac}`} ${offset(d, false)} ${zoneName(d)}`;
}
