/**
 * pull, push, login, logout: the registry commands. Credentials live where docker keeps
 * them (config.json or a credential helper, src/client/auth.ts) and travel to the daemon in
 * `X-Registry-Auth`; `login` has the daemon check them against the registry (`POST /auth`).
 */
import type { Readable } from 'node:stream';
import {
  INDEX_SERVER,
  configPath,
  eraseCredentials,
  getCredentials,
  helperFor,
  loadConfigFile,
  serverAddressFor,
  storeCredentials,
  type AuthConfig,
} from '../../client/auth.js';
import { displayJsonMessages, isDaemonError } from '../../client/index.js';
import { InvalidArgument } from '../../core/errors.js';
import { familiarName, formatReference, parseReference, withDefaultTag } from '../../core/reference.js';
import { UsageError } from '../args.js';
import type { Cli, CommandDef } from '../context.js';
import { progressDisplay, pullImage, registryAuthHeader } from '../pull.js';

export const pull: CommandDef = {
  name: 'pull',
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  description: 'Download an image from a registry',
  flags: [
    { long: 'all-tags', short: 'a', kind: 'bool', help: 'Download all tagged images in the repository' },
    { long: 'disable-content-trust', kind: 'bool', default: true, help: 'Skip image verification', hidden: true },
    { long: 'platform', kind: 'string', help: 'Set platform if server is multi-platform capable' },
    { long: 'quiet', short: 'q', kind: 'bool', help: 'Suppress verbose output' },
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(cli, f, args) {
    const quiet = f.bool('quiet');
    const all = f.bool('all-tags');
    const platform = f.str('platform');
    const name = args[0] as string;
    const parsed = parseReference(name);
    if (!quiet && !all && parsed.tag === undefined && parsed.digest === undefined) cli.out('Using default tag: latest\n');
    const ref = await pullImage(cli, name, { ...(platform ? { platform } : {}), ...(quiet ? {} : { out: cli.io.stdout }), all });
    cli.out(`${ref}\n`);
    return 0;
  },
};

export const push: CommandDef = {
  name: 'push',
  usage: '[OPTIONS] NAME[:TAG]',
  description: 'Upload an image to a registry',
  flags: [
    { long: 'all-tags', short: 'a', kind: 'bool', help: 'Push all tags of an image to the repository' },
    { long: 'disable-content-trust', kind: 'bool', default: true, help: 'Skip image signing', hidden: true },
    { long: 'platform', kind: 'string', help: 'Push a platform-specific manifest as a single-platform image to the registry', hidden: true },
    { long: 'quiet', short: 'q', kind: 'bool', help: 'Suppress verbose output' },
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(cli, f, args) {
    const quiet = f.bool('quiet');
    const all = f.bool('all-tags');
    const name = args[0] as string;
    const parsed = parseReference(name);
    if (parsed.digest !== undefined) throw new InvalidArgument('cannot push a digest reference');
    if (all && parsed.tag !== undefined) throw new InvalidArgument("tag can't be used with --all-tags/-a");
    let ref = parsed;
    if (!all && parsed.tag === undefined) {
      ref = withDefaultTag(parsed);
      if (!quiet) cli.out('Using default tag: latest\n');
    }
    const res = await cli.client().request('POST', `/images/${familiarName(ref.repository)}/push`, {
      query: { tag: ref.tag ?? '' },
      headers: { 'X-Registry-Auth': await registryAuthHeader(cli, name) },
    });
    const out = quiet ? undefined : cli.io.stdout;
    await displayJsonMessages(res.stream, out, progressDisplay(out));
    if (quiet) cli.out(`${formatReference(ref)}\n`);
    return 0;
  },
};

async function readAllStdin(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line from a terminal; with `hidden`, without echo (raw mode). */
async function prompt(cli: Cli, question: string, hidden: boolean): Promise<string> {
  const stdin = cli.io.stdin();
  cli.out(question);
  const raw = hidden && stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  if (raw) stdin.setRawMode?.(true);
  try {
    return await new Promise<string>((resolve, reject) => {
      let buf = '';
      const finish = (value: string) => {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.pause();
        resolve(value);
      };
      const onEnd = () => finish(buf);
      const onData = (d: Buffer | string) => {
        for (const ch of d.toString()) {
          if (ch === '\r' || ch === '\n') return finish(buf);
          if (raw && ch === '\u0003') {
            stdin.off('data', onData);
            stdin.off('end', onEnd);
            reject(new Error('login interrupted'));
            return;
          }
          if (raw && (ch === '\u007f' || ch === '\b')) buf = buf.slice(0, -1);
          else buf += ch;
        }
      };
      stdin.on('data', onData);
      stdin.once('end', onEnd);
      stdin.resume();
    });
  } finally {
    if (raw) {
      stdin.setRawMode?.(false);
      cli.out('\n');
    }
  }
}

interface AuthResponse {
  Status?: string;
  IdentityToken?: string;
}

async function authenticate(cli: Cli, a: AuthConfig): Promise<AuthResponse> {
  const body: Record<string, string> = { serveraddress: a.serveraddress ?? INDEX_SERVER };
  if (a.username !== undefined) body.username = a.username;
  if (a.password !== undefined) body.password = a.password;
  if (a.identitytoken !== undefined) body.identitytoken = a.identitytoken;
  return (await cli.client().json<AuthResponse>('POST', '/auth', { body })) ?? {};
}

export const login: CommandDef = {
  name: 'login',
  usage: '[OPTIONS] [SERVER]',
  description: 'Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.',
  flags: [
    { long: 'password', short: 'p', kind: 'string', help: 'Password or Personal Access Token (PAT)' },
    { long: 'password-stdin', kind: 'bool', help: 'Take the Password or Personal Access Token (PAT) from stdin' },
    { long: 'username', short: 'u', kind: 'string', help: 'Username' },
  ],
  maxArgs: 1,
  async run(cli, f, args) {
    const server = args[0] !== undefined && args[0] !== '' ? serverAddressFor(args[0]) : INDEX_SERVER;
    let username = f.str('username');
    let password = f.str('password');
    if (password !== undefined) {
      cli.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
      if (f.bool('password-stdin')) throw new UsageError('--password and --password-stdin are mutually exclusive', 'login');
    }
    if (f.bool('password-stdin')) {
      if (username === undefined || username === '') throw new UsageError('Must provide --username with --password-stdin', 'login');
      password = (await readAllStdin(cli.io.stdin())).replace(/\r?\n$/, '').replace(/\r$/, '');
    }
    // No credentials given: the stored ones, if they still work.
    if ((username === undefined || username === '') && (password === undefined || password === '')) {
      const stored = await getCredentials(cli.io.env, server).catch(() => undefined);
      if (stored !== undefined && ((stored.password ?? '') !== '' || (stored.identitytoken ?? '') !== '')) {
        cli.out('Authenticating with existing credentials...');
        try {
          const r = await authenticate(cli, { ...stored, serveraddress: server });
          cli.out(stored.username !== undefined && stored.username !== '' ? ` [Username: ${stored.username}]\n` : '\n');
          if (r.IdentityToken !== undefined && r.IdentityToken !== '') await storeCredentials(cli.io.env, server, { username: stored.username ?? '', identitytoken: r.IdentityToken });
          cli.out('\nLogin Succeeded\n');
          return 0;
        } catch (e) {
          cli.out('\n');
          if (!isDaemonError(e)) throw e;
          cli.err(`Login did not succeed, error: ${e.message}\n`);
        }
      }
    }
    const stdin = cli.io.stdin;
    if (username === undefined || username === '') {
      if (stdin().isTTY !== true) throw new Error('Cannot perform an interactive login from a non TTY device');
      username = (await prompt(cli, 'Username: ', false)).trim();
      if (username === '') throw new Error('Error: Non-null Username Required');
    }
    if (password === undefined || password === '') {
      if (stdin().isTTY !== true) throw new Error('Cannot perform an interactive login from a non TTY device');
      password = await prompt(cli, 'Password: ', true);
      if (password === '') throw new Error('Error: Password Required');
    }
    const r = await authenticate(cli, { username, password, serveraddress: server });
    const saved: AuthConfig = r.IdentityToken !== undefined && r.IdentityToken !== '' ? { username, identitytoken: r.IdentityToken } : { username, password };
    const where = await storeCredentials(cli.io.env, server, saved);
    if (where.file !== undefined) {
      cli.err(
        `WARNING! Your credentials are stored unencrypted in '${where.file}'.\n` +
          'Configure a credential helper to remove this warning. See\n' +
          'https://docs.docker.com/go/credential-store/\n\n',
      );
    }
    cli.out('Login Succeeded\n');
    return 0;
  },
};

export const logout: CommandDef = {
  name: 'logout',
  usage: '[SERVER]',
  description: 'Log out from a registry.\nIf no server is specified, the default is defined by the daemon.',
  flags: [],
  maxArgs: 1,
  async run(cli, _f, args) {
    const server = args[0] !== undefined && args[0] !== '' ? serverAddressFor(args[0]) : INDEX_SERVER;
    const cfg = await loadConfigFile(cli.io.env);
    const helper = helperFor(cfg, server);
    const had = await eraseCredentials(cli.io.env, server);
    if (!had) {
      cli.out(`Not logged in to ${server}\n`);
      return 0;
    }
    cli.out(`Removing login credentials for ${server}\n`);
    if (helper === undefined && cli.debug) cli.err(`(from ${configPath(cli.io.env)})\n`);
    return 0;
  },
};
