/**
 * Docker's JSON progress messages for pull and push, the pure part: the message shapes
 * (`{"status":"Downloading","progressDetail":{"current":1,"total":2},"progress":"[>  ] 1B/2B","id":"…"}`),
 * the progress string the daemon puts beside them (jsonmessage's `JSONProgress.String` at
 * the daemon's width of 200 columns) and a per-layer throttle.
 */
import { progressString } from '../../core/progress.js';

export { humanSize4, progressString } from '../../core/progress.js';
export interface ProgressDetail {
  current?: number;
  total?: number;
}

/** One message of the stream; field order is Docker's (status, progressDetail, progress, id). */
export interface ProgressMessage {
  status?: string;
  progressDetail?: ProgressDetail;
  progress?: string;
  id?: string;
  aux?: unknown;
  errorDetail?: { message: string; code?: number };
  error?: string;
}

export type ProgressSink = (m: ProgressMessage) => void;

/** A status line for a layer (or the whole operation when `id` is undefined). */
export function statusMessage(status: string, id?: string, withDetail = id !== undefined): ProgressMessage {
  const m: ProgressMessage = { status };
  if (withDetail) m.progressDetail = {};
  if (id !== undefined) m.id = id;
  return m;
}

export function progressMessage(status: string, id: string, current: number, total: number): ProgressMessage {
  return { status, progressDetail: { current, total }, progress: progressString(current, total), id };
}

/** The stream's error message: `{"errorDetail":{"message":…},"error":…}`. */
export function errorMessage(message: string): ProgressMessage {
  return { errorDetail: { message }, error: message };
}

/** The 12-hex short ID Docker shows for a layer (`sha256:a46fbb00284b…` → `a46fbb00284b`). */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/**
 * Rate-limits progress updates per id (Docker sends at most ~10 a second per layer):
 * `update` returns false when the message should be skipped. A final update (current ===
 * total) always goes out.
 */
export class Throttle {
  private readonly last = new Map<string, number>();
  constructor(
    private readonly intervalMs = 100,
    private readonly now: () => number = Date.now,
  ) {}

  update(id: string, current: number, total: number): boolean {
    const t = this.now();
    const prev = this.last.get(id);
    if (current < total && prev !== undefined && t - prev < this.intervalMs) return false;
    this.last.set(id, t);
    return true;
  }
}
