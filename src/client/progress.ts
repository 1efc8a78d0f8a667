import type { Readable, Writable } from 'node:stream';
import { progressString } from '../core/progress.js';
import { daemonError } from './errors.js';

/** One message of a JSON-lines progress stream (pull, load, import, build). */
export interface JsonMessage {
  status?: string;
  stream?: string;
  id?: string;
  from?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { code?: number; message?: string };
  aux?: unknown;
  [key: string]: unknown;
}

/** Yields each JSON object of a newline-delimited (or concatenated) JSON stream. */
export async function* jsonMessages(stream: Readable): AsyncGenerator<JsonMessage> {
  let buf = '';
  for await (const chunk of stream) {
    buf += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line !== '') yield JSON.parse(line) as JsonMessage;
    }
  }
  const rest = buf.trim();
  if (rest !== '') yield JSON.parse(rest) as JsonMessage;
}

/** Throws the daemon's error when the message carries one. */
export function checkMessage(m: JsonMessage): void {
  if (m.errorDetail !== undefined || (m.error !== undefined && m.error !== '')) {
    const message = m.errorDetail?.message ?? m.error ?? 'unknown error';
    throw daemonError(m.errorDetail?.code && m.errorDetail.code >= 400 ? m.errorDetail.code : 500, message);
  }
}

/** One message as docker's `jsonmessage.Display` prints it to a non-terminal. */
export function renderMessage(m: JsonMessage): string {
  const detail = m.progressDetail;
  if (detail && ((detail.current ?? 0) > 0 || (detail.total ?? 0) > 0)) return ''; // progress bars are for terminals
  let s = '';
  if (m.id) s += `${m.id}: `;
  if (m.from) s += `(from ${m.from}) `;
  if (m.stream !== undefined && m.stream !== '') return s + m.stream;
  if (m.status === undefined) return '';
  return `${s}${m.status}\n`;
}

/**
 * docker's `DisplayJSONMessagesStream` for a terminal: a line per layer (message `id` with
 * `progressDetail`), redrawn in place with cursor movements, a progress bar past 110
 * columns; any other message ends the block of layer lines. Returns the text to write.
 */
export class TerminalProgress {
  private ids = new Map<string, number>();

  constructor(private readonly columns: () => number) {}

  render(m: JsonMessage): string {
    if (m.aux !== undefined) return '';
    let s = '';
    let diff = 0;
    const hasProgress = m.progressDetail !== undefined;
    if (m.id !== undefined && m.id !== '' && hasProgress) {
      let line = this.ids.get(m.id);
      if (line === undefined) {
        line = this.ids.size;
        this.ids.set(m.id, line);
        s += '\n';
      }
      diff = this.ids.size - line;
      if (diff > 0) s += `\x1b[${diff}A`;
    } else {
      // Something that is not a layer line: the block above is done (pull -a starts anew).
      this.ids = new Map();
    }
    let endl = '';
    if ((m.stream === undefined || m.stream === '') && hasProgress) {
      s += '\x1b[2K\r';
      endl = '\r';
    }
    if (m.id !== undefined && m.id !== '') s += `${m.id}: `;
    if (m.from !== undefined && m.from !== '') s += `(from ${m.from}) `;
    if (hasProgress) {
      s += `${m.status ?? ''} ${progressString(m.progressDetail?.current ?? 0, m.progressDetail?.total ?? 0, this.columns())}${endl}`;
    } else if (m.progress !== undefined && m.progress !== '') {
      s += `${m.status ?? ''} ${m.progress}${endl}`;
    } else if (m.stream !== undefined && m.stream !== '') {
      s += `${m.stream}${endl}`;
    } else {
      s += `${m.status ?? ''}${endl}\n`;
    }
    if (m.id !== undefined && m.id !== '' && diff > 0) s += `\x1b[${diff}B`;
    return s;
  }
}

/**
 * Prints a progress stream (`status`/`stream` lines) and throws on `errorDetail`.
 * `onAux` receives `aux` payloads (image IDs of builds and loads). With `terminal`, layer
 * lines are redrawn in place with their progress bars, as docker does on a terminal.
 */
export async function displayJsonMessages(
  stream: Readable,
  out: Writable | undefined,
  opts: { onAux?: (aux: unknown) => void; onMessage?: (m: JsonMessage) => void; terminal?: { columns: () => number } } = {},
): Promise<void> {
  const term = opts.terminal && out ? new TerminalProgress(opts.terminal.columns) : undefined;
  for await (const m of jsonMessages(stream)) {
    checkMessage(m);
    if (m.aux !== undefined) opts.onAux?.(m.aux);
    opts.onMessage?.(m);
    const text = out ? (term ? term.render(m) : renderMessage(m)) : '';
    if (text !== '' && out) out.write(text);
  }
}
