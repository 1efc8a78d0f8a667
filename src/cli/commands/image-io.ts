/** import, save, load: image archives and the JSON progress streams around them (pull is in registry.ts). */
import type { Readable } from 'node:stream';
import { displayJsonMessages } from '../../client/index.js';
import { parseReference } from '../../core/reference.js';
import { copyToOutput, type CommandDef } from '../context.js';

async function openInput(file: string): Promise<{ stream: Readable; length?: number }> {
  const fs = await import('node:fs');
  let size: number;
  try {
    size = (await fs.promises.stat(file)).size;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`open ${file}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
  }
  return { stream: fs.createReadStream(file), length: size };
}

export const importCmd: CommandDef = {
  name: 'import',
  usage: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
  description: 'Import the contents from a tarball to create a filesystem image',
  flags: [
    { long: 'change', short: 'c', kind: 'list', help: 'Apply Dockerfile instruction to the created image' },
    { long: 'message', short: 'm', kind: 'string', help: 'Set commit message for imported image' },
    { long: 'platform', kind: 'string', help: 'Set platform if server is multi-platform capable' },
  ],
  minArgs: 1,
  maxArgs: 2,
  async run(cli, f, args) {
    const [source = '', ref] = args;
    if (ref !== undefined && ref !== '') parseReference(ref);
    let body: Readable | undefined;
    let fromSrc = source;
    const headers: Record<string, string> = {};
    if (source === '-') {
      body = cli.io.stdin();
    } else if (/^https?:\/\//.test(source)) {
      fromSrc = source;
    } else {
      const input = await openInput(source);
      body = input.stream;
      fromSrc = '-';
      if (input.length !== undefined) headers['Content-Length'] = String(input.length);
    }
    const res = await cli.client().request('POST', '/images/create', {
      query: {
        fromSrc,
        repo: ref || undefined,
        message: f.str('message') || undefined,
        changes: f.list('change'),
        platform: f.str('platform') || undefined,
      },
      ...(body ? { body } : {}),
      headers,
    });
    await displayJsonMessages(res.stream, cli.io.stdout);
    return 0;
  },
};

export const save: CommandDef = {
  name: 'save',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  flags: [{ long: 'output', short: 'o', kind: 'string', help: 'Write to a file, instead of STDOUT' }],
  minArgs: 1,
  async run(cli, f, args) {
    const out = f.str('output');
    if ((out === undefined || out === '') && cli.io.stdout.isTTY) throw new Error('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const res = await cli.client().request('GET', '/images/get', { query: { names: args } });
    await copyToOutput(cli, res.stream, out);
    return 0;
  },
};

export const load: CommandDef = {
  name: 'load',
  usage: '[OPTIONS]',
  description: 'Load an image from a tar archive or STDIN',
  flags: [
    { long: 'input', short: 'i', kind: 'string', help: 'Read from tar archive file, instead of STDIN' },
    { long: 'quiet', short: 'q', kind: 'bool', help: 'Suppress the load output' },
  ],
  maxArgs: 0,
  async run(cli, f) {
    const file = f.str('input');
    let body: Readable;
    const headers: Record<string, string> = { 'Content-Type': 'application/x-tar' };
    if (file !== undefined && file !== '') {
      const input = await openInput(file);
      body = input.stream;
      if (input.length !== undefined) headers['Content-Length'] = String(input.length);
    } else {
      const stdin = cli.io.stdin();
      if (stdin.isTTY) throw new Error('requested load from stdin, but stdin is empty');
      body = stdin;
    }
    const quiet = f.bool('quiet');
    const res = await cli.client().request('POST', '/images/load', { query: { quiet: quiet || undefined }, body, headers });
    const ct = String(res.headers['content-type'] ?? '');
    if (ct.includes('json')) await displayJsonMessages(res.stream, cli.io.stdout);
    else cli.out(await res.text());
    return 0;
  },
};
