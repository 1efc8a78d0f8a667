/**
 * Registry credentials on the client side, stored as the docker CLI stores them:
 * `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`) with its `auths` map of
 * base64 `user:password` (`auth`) and identity tokens, or, when `credsStore` /
 * `credHelpers` name one, a `docker-credential-<name>` helper (get/store/erase on stdin).
 * Credentials reach the daemon in `X-Registry-Auth` (base64url JSON), as docker sends them.
 */
import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseJsonText } from '../core/json-text.js';

/** The key Docker Hub credentials are stored under. */
export const INDEX_SERVER = 'https://index.docker.io/v1/';

export interface AuthConfig {
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
  serveraddress?: string;
}

/** config.json as read: the keys berth uses, and everything else kept as it was. */
export interface DockerConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; registrytoken?: string; email?: string; username?: string; password?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

export function configDir(env: NodeJS.ProcessEnv): string {
  const d = env.DOCKER_CONFIG;
  return d !== undefined && d !== '' ? d : join(env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir(), '.docker');
}

export function configPath(env: NodeJS.ProcessEnv): string {
  return join(configDir(env), 'config.json');
}

/**
 * Docker's `ConvertToHostname`: `https://index.docker.io/v1/` → `index.docker.io`,
 * `http://localhost:5000/` → `localhost:5000`.
 */
export function convertToHostname(url: string): string {
  let s = url;
  if (s.startsWith('http://')) s = s.slice(7);
  else if (s.startsWith('https://')) s = s.slice(8);
  const slash = s.indexOf('/');
  return slash >= 0 ? s.slice(0, slash) : s;
}

/**
 * The server address credentials of a registry are stored under: Docker Hub's index URL
 * for docker.io (and its aliases), the `host[:port]` otherwise.
 */
export function serverAddressFor(registry: string): string {
  const host = convertToHostname(registry.trim()).toLowerCase();
  if (host === '' || host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io') return INDEX_SERVER;
  return host;
}

/** `auth` field: base64 of `user:password`. */
export function encodeAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString('base64');
}

export function decodeAuth(auth: string): { username: string; password: string } | undefined {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return undefined;
  return { username: text.slice(0, i), password: text.slice(i + 1) };
}

/** The `auths` entry for a server address (exact key first, then by hostname, as Docker). */
export function findAuthEntry(cfg: DockerConfigFile, server: string): { key: string; entry: NonNullable<DockerConfigFile['auths']>[string] } | undefined {
  const auths = cfg.auths ?? {};
  const exact = auths[server];
  if (exact !== undefined) return { key: server, entry: exact };
  const host = convertToHostname(server);
  for (const [key, entry] of Object.entries(auths)) if (convertToHostname(key) === host) return { key, entry };
  return undefined;
}

/** Credentials of a server from the `auths` map alone. */
export function authFromFile(cfg: DockerConfigFile, server: string): AuthConfig | undefined {
  const found = findAuthEntry(cfg, server);
  if (!found) return undefined;
  const e = found.entry;
  const out: AuthConfig = { serveraddress: server };
  if (e.auth !== undefined && e.auth !== '') {
    const d = decodeAuth(e.auth);
    if (d) {
      out.username = d.username;
      if (d.password !== '') out.password = d.password;
    }
  } else if (e.username !== undefined) {
    out.username = e.username;
    if (e.password !== undefined) out.password = e.password;
  }
  if (e.identitytoken !== undefined && e.identitytoken !== '') out.identitytoken = e.identitytoken;
  if (e.registrytoken !== undefined && e.registrytoken !== '') out.registrytoken = e.registrytoken;
  if (out.username === undefined && out.identitytoken === undefined && out.registrytoken === undefined) return undefined;
  return out;
}

/** Writes (or replaces) a server's `auths` entry as Docker saves it: `auth` plus the identity token. */
export function withAuthEntry(cfg: DockerConfigFile, server: string, a: AuthConfig): DockerConfigFile {
  const auths = { ...(cfg.auths ?? {}) };
  const found = findAuthEntry(cfg, server);
  if (found && found.key !== server) delete auths[found.key];
  const entry: NonNullable<DockerConfigFile['auths']>[string] = {};
  if (a.username !== undefined || a.password !== undefined) entry.auth = encodeAuth(a.username ?? '', a.password ?? '');
  if (a.identitytoken !== undefined) entry.identitytoken = a.identitytoken;
  auths[server] = entry;
  return { ...cfg, auths };
}

/** Removes a server's entry (under any spelling of its address); reports whether there was one. */
export function withoutAuthEntry(cfg: DockerConfigFile, server: string): { cfg: DockerConfigFile; removed: boolean } {
  const auths = { ...(cfg.auths ?? {}) };
  const host = convertToHostname(server);
  let removed = false;
  for (const key of Object.keys(auths)) {
    if (key === server || convertToHostname(key) === host) {
      delete auths[key];
      removed = true;
    }
  }
  return { cfg: { ...cfg, auths }, removed };
}

/** The helper (`docker-credential-<name>`) for a server: credHelpers by hostname, then credsStore. */
export function helperFor(cfg: DockerConfigFile, server: string): string | undefined {
  const helpers = cfg.credHelpers ?? {};
  const h = helpers[server] ?? helpers[convertToHostname(server)];
  if (h !== undefined && h !== '') return h;
  return cfg.credsStore !== undefined && cfg.credsStore !== '' ? cfg.credsStore : undefined;
}

/**
 * `X-Registry-Auth`: base64url (padded) of the JSON docker sends; `e30=` (`{}`) for none.
 */
export function encodeRegistryAuth(a: AuthConfig | undefined): string {
  if (a === undefined) return 'e30=';
  const j: Record<string, string> = {};
  if (a.username !== undefined) j.username = a.username;
  if (a.password !== undefined) j.password = a.password;
  if (a.serveraddress !== undefined) j.serveraddress = a.serveraddress;
  if (a.identitytoken !== undefined) j.identitytoken = a.identitytoken;
  if (a.registrytoken !== undefined) j.registrytoken = a.registrytoken;
  return Buffer.from(JSON.stringify(j)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** config.json as Go's `json.MarshalIndent(cfg, "", "\t")` writes it. */
export function serializeConfig(cfg: DockerConfigFile): string {
  return JSON.stringify(cfg, null, '\t');
}

// ---------------------------------------------------------------------------------------------
// I/O

export async function loadConfigFile(env: NodeJS.ProcessEnv): Promise<DockerConfigFile> {
  const path = configPath(env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`loading config file ${path}: ${(e as Error).message}`);
  }
  if (text.trim() === '') return {};
  try {
    const j = parseJsonText(text);
    if (j === null || typeof j !== 'object' || Array.isArray(j)) throw new Error('not a JSON object');
    return j as DockerConfigFile;
  } catch (e) {
    throw new Error(`loading config file ${path}: ${(e as Error).message}`);
  }
}

/** Saves config.json atomically with mode 0600 (the directory 0700 when it is made). */
export async function saveConfigFile(env: NodeJS.ProcessEnv, cfg: DockerConfigFile): Promise<string> {
  const path = configPath(env);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(serializeConfig(cfg));
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return path;
}

/** Runs `docker-credential-<helper> <action>` with `input` on stdin; resolves with stdout. */
export function runHelper(helper: string, action: 'get' | 'store' | 'erase', input: string, env: NodeJS.ProcessEnv): Promise<string> {
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined);
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'ENOENT' ? `error getting credentials - err: exec: "${program}": executable file not found in $PATH, out: \`\`` : `${program}: ${e.message}`)),
    );
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString();
      if (code === 0) resolve(stdout);
      else reject(new HelperError((stdout.trim() || Buffer.concat(err).toString().trim() || `exit status ${code}`).trim()));
    });
    child.stdin.end(input);
  });
}

export class HelperError extends Error {}

/** Whether a helper's error says it simply has nothing for that server. */
export function isNotFoundHelperError(e: unknown): boolean {
  return e instanceof HelperError && /credentials not found/i.test(e.message);
}

/** A server's credentials: from its helper when one is configured, else from the file. */
export async function getCredentials(env: NodeJS.ProcessEnv, server: string, cfg?: DockerConfigFile): Promise<AuthConfig | undefined> {
  const c = cfg ?? (await loadConfigFile(env));
  const helper = helperFor(c, server);
  if (helper === undefined) return authFromFile(c, server);
  let out: string;
  try {
    out = await runHelper(helper, 'get', server, env);
  } catch (e) {
    if (isNotFoundHelperError(e)) return undefined;
    throw e;
  }
  let j: { ServerURL?: string; Username?: string; Secret?: string };
  try {
    j = JSON.parse(out) as typeof j;
  } catch {
    throw new Error(`docker-credential-${helper} get: invalid output`);
  }
  if ((j.Username ?? '') === '' && (j.Secret ?? '') === '') return undefined;
  if (j.Username === '<token>') return { identitytoken: j.Secret ?? '', serveraddress: server };
  return { username: j.Username ?? '', password: j.Secret ?? '', serveraddress: server };
}

/** Stores a login; returns where (`config.json` path, or the helper's name). */
export async function storeCredentials(env: NodeJS.ProcessEnv, server: string, a: AuthConfig): Promise<{ file?: string; helper?: string }> {
  const cfg = await loadConfigFile(env);
  const helper = helperFor(cfg, server);
  if (helper !== undefined) {
    const secret = a.identitytoken ?? a.password ?? '';
    const username = a.identitytoken !== undefined ? '<token>' : (a.username ?? '');
    await runHelper(helper, 'store', JSON.stringify({ ServerURL: server, Username: username, Secret: secret }), env);
    // Docker keeps an empty entry in `auths` so `docker info`/logout know the login exists.
    const auths = { ...(cfg.auths ?? {}) };
    auths[server] = {};
    await saveConfigFile(env, { ...cfg, auths });
    return { helper };
  }
  const file = await saveConfigFile(env, withAuthEntry(cfg, server, a.identitytoken !== undefined ? { username: a.username ?? '', identitytoken: a.identitytoken } : a));
  return { file };
}

/** Erases a login from the helper and the file; false when there was none. */
export async function eraseCredentials(env: NodeJS.ProcessEnv, server: string): Promise<boolean> {
  const cfg = await loadConfigFile(env);
  const helper = helperFor(cfg, server);
  let found = false;
  if (helper !== undefined) {
    try {
      found = (await getCredentials(env, server, cfg)) !== undefined;
      if (found) await runHelper(helper, 'erase', server, env);
    } catch (e) {
      if (!isNotFoundHelperError(e)) throw e;
    }
  }
  const { cfg: next, removed } = withoutAuthEntry(cfg, server);
  if (removed) await saveConfigFile(env, next);
  return found || removed;
}
