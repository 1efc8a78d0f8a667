import { watch, type FSWatcher } from 'node:fs';
import { open, readFile, rename, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { Mutex } from '../util/mutex.js';
import { formatJsonLine, type JsonLogWriter } from './jsonlog.js';
import { parseLogLine } from './logs.js';

/**
 * Moves a container's output from the monitor's spool into its json-file log.
 *
 * conmon writes every line to the spool (`<stream> <P|F> <text>` records, capped and replaced
 * by conmon when it grows past its size limit) whether or not the daemon is up; the daemon
 * ships complete records into the json-file log, which it rotates. The spool position shipped
 * so far (inode and offset) is kept on disk, so a restarted daemon carries on where it stopped
 * and output written while it was down still reaches the log.
 */
export class LogShipper {
  private fh: FileHandle | undefined;
  private ino = -1;
  /** Spool bytes shipped (complete records). */
  private offset = 0;
  /** Spool bytes read: `offset` plus what is held in `rest` and the decoder. */
  private readPos = 0;
  private rest = '';
  private decoder = new StringDecoder('utf8');
  private loaded = false;
  private readonly lock = new Mutex();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly spoolPath: string,
    private readonly statePath: string,
    /** Where shipped lines go: the json-file log, or nowhere (`--log-driver none`). */
    private readonly writer: Pick<JsonLogWriter, 'append'>,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {}

  /** Ships everything complete in the spool now. Calls are serialised. */
  ship(): Promise<void> {
    return this.lock.run(() => this.shipLocked());
  }

  /** Ships as the spool grows, until `unwatch`. */
  watch(): void {
    if (this.watcher) return;
    try {
      this.watcher = watch(this.spoolPath, () => this.soon());
    } catch (e) {
      this.onError(e);
    }
  }

  unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  async close(): Promise<void> {
    this.unwatch();
    await this.lock.run(async () => {
      await this.fh?.close();
      this.fh = undefined;
    });
  }

  private soon(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.ship().catch(this.onError);
    }, 10);
  }

  private async shipLocked(): Promise<void> {
    if (!this.loaded) {
      this.loaded = true;
      const saved = await readFile(this.statePath, 'utf8').then((t) => JSON.parse(t) as { ino: number; offset: number }, () => undefined);
      if (saved && typeof saved.ino === 'number' && typeof saved.offset === 'number') {
        this.ino = saved.ino;
        this.offset = saved.offset;
      }
    }
    const start = { ino: this.ino, offset: this.offset };
    for (;;) {
      if (!this.fh) {
        this.fh = await open(this.spoolPath, 'r').catch(() => undefined);
        if (!this.fh) break;
        const st = await this.fh.stat();
        if (st.ino !== this.ino || st.size < this.offset) {
          // A new spool (conmon replaced it, or this is a new run): start at its beginning.
          this.ino = st.ino;
          this.offset = 0;
        }
        this.readPos = this.offset;
        this.rest = '';
        this.decoder = new StringDecoder('utf8');
      }
      await this.drain(this.fh);
      const now = await stat(this.spoolPath).catch(() => undefined);
      if (now !== undefined && now.ino === this.ino) break;
      // Replaced meanwhile: what is left in the old file was read through the open handle.
      await this.drain(this.fh);
      await this.fh.close();
      this.fh = undefined;
      if (now === undefined) break;
    }
    if (this.ino !== start.ino || this.offset !== start.offset) {
      const tmp = `${this.statePath}.tmp`;
      await writeFile(tmp, JSON.stringify({ ino: this.ino, offset: this.offset }));
      await rename(tmp, this.statePath);
    }
  }

  private async drain(fh: FileHandle): Promise<void> {
    const buf = Buffer.alloc(256 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.readPos);
      if (bytesRead === 0) return;
      this.readPos += bytesRead;
      const text = this.rest + this.decoder.write(buf.subarray(0, bytesRead));
      const cut = text.lastIndexOf('\n');
      if (cut < 0) {
        this.rest = text;
        continue;
      }
      const complete = text.slice(0, cut);
      this.rest = text.slice(cut + 1);
      const out: string[] = [];
      for (const l of complete.split('\n')) {
        const r = parseLogLine(l);
        if (r) out.push(formatJsonLine(r));
      }
      await this.writer.append(out);
      this.offset += Buffer.byteLength(complete) + 1;
    }
  }
}
