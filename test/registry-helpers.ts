/**
 * Registries for the root tier: the CNCF distribution registry (Debian's docker-registry)
 * started on 127.0.0.1 with a temporary storage directory, optionally behind htpasswd or
 * token auth (with a tiny token issuer signing JWTs with a self-signed certificate made
 * by openssl), and a plain HTTP client of the registry API to build test images by hand.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

export function haveRegistry(): boolean {
  return spawnSync('docker-registry', ['--version']).status === 0;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Registry {
  host: string;
  dir: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export type RegistryAuth = { htpasswd: string } | { token: { realm: string; service: string; issuer: string; rootcertbundle: string } };

/** Starts `docker-registry serve` on 127.0.0.1:<free port> with storage under `dir`. */
export async function startRegistry(dir: string, auth?: RegistryAuth): Promise<Registry> {
  await mkdir(join(dir, 'data'), { recursive: true });
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  if (auth && 'htpasswd' in auth) lines.push('auth:', '  htpasswd:', '    realm: berth-test', `    path: ${auth.htpasswd}`);
  if (auth && 'token' in auth) {
    const t = auth.token;
    lines.push('auth:', '  token:', `    realm: ${t.realm}`, `    service: ${t.service}`, `    issuer: ${t.issuer}`, `    rootcertbundle: ${t.rootcertbundle}`);
  }
  const config = join(dir, 'config.yml');
  await writeFile(config, `${lines.join('\n')}\n`);
  const proc = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (process.env.BERTH_TEST_DEBUG) process.stderr.write(d);
  });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`http://${host}/v2/`);
      if (r.status === 200 || r.status === 401) break;
    } catch {
      // not up yet
    }
    if (i > 200 || proc.exitCode !== null) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    dir,
    proc,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await done;
    },
  };
}

/** `htpasswd -Bbn user password` into `file`. */
export async function writeHtpasswd(file: string, users: Record<string, string>): Promise<void> {
  let text = '';
  for (const [u, p] of Object.entries(users)) {
    const r = spawnSync('htpasswd', ['-Bbn', u, p]);
    if (r.status !== 0) throw new Error(`htpasswd: ${r.stderr.toString()}`);
    text += r.stdout.toString().trim() + '\n';
  }
  await writeFile(file, text);
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

export interface TokenIssuer {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** Requests seen: scopes asked for and the user (or '' for anonymous). */
  requests: { scopes: string[]; user: string; status: number }[];
  stop(): Promise<void>;
}

/**
 * A token server as the distribution token spec describes: Basic credentials (optional),
 * `scope` parameters, an RS256 JWT signed by a self-signed certificate (`x5c` header) the
 * registry trusts through its `rootcertbundle`. Authenticated users get what they ask for;
 * anonymous callers get pull access to `public/*` only. Tokens live `lifetime` seconds.
 */
export async function startTokenIssuer(dir: string, users: Record<string, string>, lifetime = 300): Promise<TokenIssuer> {
  await mkdir(dir, { recursive: true });
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=berth-test-token-issuer']);
  if (gen.status !== 0) throw new Error(`openssl: ${gen.stderr.toString()}`);
  const key = createPrivateKey(await readFile(keyFile));
  const cert = new X509Certificate(await readFile(certFile));
  const service = 'berth-test-registry';
  const issuer = 'berth-test-issuer';
  const requests: TokenIssuer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const h = req.headers.authorization ?? '';
    let user = '';
    if (h.startsWith('Basic ')) {
      const text = Buffer.from(h.slice(6), 'base64').toString();
      const i = text.indexOf(':');
      const [u, p] = [text.slice(0, i), text.slice(i + 1)];
      if (users[u] !== p) {
        requests.push({ scopes: url.searchParams.getAll('scope'), user: u, status: 401 });
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      user = u;
    }
    const scopes = url.searchParams.getAll('scope');
    requests.push({ scopes, user, status: 200 });
    const access = scopes.flatMap((s) => {
      const m = /^repository:(.+):([^:]+)$/.exec(s);
      if (!m) return [];
      const name = m[1] as string;
      const actions = (m[2] as string).split(',');
      const granted = user !== '' ? actions : name.startsWith('public/') ? actions.filter((a) => a === 'pull') : [];
      return [{ type: 'repository', name, actions: granted }];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [cert.raw.toString('base64')] };
    // The registry allows 60 s of clock skew past `exp`: take it off, so tokens really live `lifetime` seconds.
    const claims = { iss: issuer, sub: user, aud: service, exp: now + lifetime - 60, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const signing = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${signing}.${b64url(sign('sha256', Buffer.from(signing), key))}`;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: lifetime, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A bare registry API client (no auth) for building test images by hand. */
export class RegistryApi {
  constructor(readonly host: string) {}

  async getManifest(repo: string, ref: string): Promise<{ body: Buffer; mediaType: string; digest: string }> {
    const r = await fetch(`http://${this.host}/v2/${repo}/manifests/${ref}`, {
      headers: {
        Accept:
          'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json',
      },
    });
    if (r.status !== 200) throw new Error(`GET manifest ${repo}:${ref}: ${r.status} ${await r.text()}`);
    const body = Buffer.from(await r.arrayBuffer());
    return { body, mediaType: r.headers.get('content-type') ?? '', digest: sha256(body) };
  }

  async getBlob(repo: string, digest: string): Promise<Buffer> {
    const r = await fetch(`http://${this.host}/v2/${repo}/blobs/${digest}`);
    if (r.status !== 200) throw new Error(`GET blob ${digest}: ${r.status}`);
    return Buffer.from(await r.arrayBuffer());
  }

  /** Monolithic upload (POST, PUT ?digest=). */
  async putBlob(repo: string, data: Buffer): Promise<string> {
    const digest = sha256(data);
    const post = await fetch(`http://${this.host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    if (post.status !== 202) throw new Error(`POST upload: ${post.status} ${await post.text()}`);
    const loc = new URL(post.headers.get('location') ?? '', `http://${this.host}`);
    loc.searchParams.set('digest', digest);
    const put = await fetch(loc, { method: 'PUT', body: data, headers: { 'Content-Type': 'application/octet-stream' } });
    if (put.status !== 201) throw new Error(`PUT blob: ${put.status} ${await put.text()}`);
    return digest;
  }

  async putManifest(repo: string, ref: string, body: Buffer, mediaType: string): Promise<string> {
    const r = await fetch(`http://${this.host}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body, headers: { 'Content-Type': mediaType } });
    if (r.status !== 201) throw new Error(`PUT manifest ${repo}:${ref}: ${r.status} ${await r.text()}`);
    return r.headers.get('docker-content-digest') ?? sha256(body);
  }
}
