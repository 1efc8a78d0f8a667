import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  INDEX_SERVER,
  authFromFile,
  configDir,
  convertToHostname,
  encodeAuth,
  encodeRegistryAuth,
  eraseCredentials,
  getCredentials,
  helperFor,
  loadConfigFile,
  serializeConfig,
  serverAddressFor,
  storeCredentials,
  withAuthEntry,
  withoutAuthEntry,
} from './auth.js';

describe('config.json credentials (pure)', () => {
  it('finds the config directory as docker does', () => {
    expect(configDir({ DOCKER_CONFIG: '/x/dc', HOME: '/home/u' })).toBe('/x/dc');
    expect(configDir({ HOME: '/home/u' })).toBe('/home/u/.docker');
  });

  it('names servers as docker stores them', () => {
    expect(serverAddressFor('docker.io')).toBe(INDEX_SERVER);
    expect(serverAddressFor('index.docker.io')).toBe(INDEX_SERVER);
    expect(serverAddressFor('https://index.docker.io/v1/')).toBe(INDEX_SERVER);
    expect(serverAddressFor('localhost:5000')).toBe('localhost:5000');
    expect(serverAddressFor('http://LOCALHOST:5000/')).toBe('localhost:5000');
    expect(convertToHostname('https://index.docker.io/v1/')).toBe('index.docker.io');
  });

  it('encodes auth as base64 user:password, keeps other keys, finds entries under any spelling', () => {
    expect(encodeAuth('user', 'p:w')).toBe(Buffer.from('user:p:w').toString('base64'));
    const cfg = withAuthEntry({ auths: { 'http://localhost:5000': { auth: 'old' } }, psFormat: 'table {{.ID}}' }, 'localhost:5000', { username: 'u', password: 'p' });
    expect(cfg).toEqual({ auths: { 'localhost:5000': { auth: encodeAuth('u', 'p') } }, psFormat: 'table {{.ID}}' });
    expect(authFromFile(cfg, 'localhost:5000')).toEqual({ username: 'u', password: 'p', serveraddress: 'localhost:5000' });
    expect(authFromFile({ auths: { 'https://localhost:5000/v1/': { auth: encodeAuth('a', 'b') } } }, 'localhost:5000')).toMatchObject({ username: 'a', password: 'b' });
    expect(authFromFile(cfg, 'other:1')).toBeUndefined();
    // Identity tokens are kept beside an auth of `user:`.
    const tok = withAuthEntry({}, INDEX_SERVER, { username: 'u', identitytoken: 'refresh' });
    expect(tok.auths?.[INDEX_SERVER]).toEqual({ auth: encodeAuth('u', ''), identitytoken: 'refresh' });
    expect(authFromFile(tok, INDEX_SERVER)).toEqual({ username: 'u', identitytoken: 'refresh', serveraddress: INDEX_SERVER });
    expect(serializeConfig({ auths: {} })).toBe('{\n\t"auths": {}\n}');
  });

  it('removes an entry under every spelling', () => {
    const r = withoutAuthEntry({ auths: { 'localhost:5000': {}, 'http://localhost:5000': {}, other: {} } }, 'localhost:5000');
    expect(r).toEqual({ cfg: { auths: { other: {} } }, removed: true });
    expect(withoutAuthEntry({}, 'x').removed).toBe(false);
  });

  it('picks credHelpers by hostname, then credsStore', () => {
    const cfg = { credsStore: 'pass', credHelpers: { 'ghcr.io': 'gh', [INDEX_SERVER]: 'hub' } };
    expect(helperFor(cfg, 'ghcr.io')).toBe('gh');
    expect(helperFor(cfg, INDEX_SERVER)).toBe('hub');
    expect(helperFor(cfg, 'localhost:5000')).toBe('pass');
    expect(helperFor({}, 'localhost:5000')).toBeUndefined();
  });

  it('encodes X-Registry-Auth as base64url JSON, e30= for none', () => {
    expect(encodeRegistryAuth(undefined)).toBe('e30=');
    const h = encodeRegistryAuth({ username: 'u', password: '??>>', serveraddress: 'localhost:5000' });
    expect(h).not.toMatch(/[+/]/);
    const back = JSON.parse(Buffer.from(h.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString()) as unknown;
    expect(back).toEqual({ username: 'u', password: '??>>', serveraddress: 'localhost:5000' });
  });
});

describe('config.json and credential helpers (files)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-auth-test-'));
    env = { ...process.env, DOCKER_CONFIG: join(dir, 'dc'), PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}` };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stores, reads and erases logins in config.json (0600), keeping other settings', async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'dc'));
    await writeFile(join(dir, 'dc', 'config.json'), JSON.stringify({ detachKeys: 'ctrl-x' }));
    const where = await storeCredentials(env, 'localhost:5000', { username: 'u', password: 'p' });
    expect(where.file).toBe(join(dir, 'dc', 'config.json'));
    expect((await stat(where.file as string)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(where.file as string, 'utf8'))).toEqual({ detachKeys: 'ctrl-x', auths: { 'localhost:5000': { auth: encodeAuth('u', 'p') } } });
    expect(await getCredentials(env, 'localhost:5000')).toEqual({ username: 'u', password: 'p', serveraddress: 'localhost:5000' });
    expect(await eraseCredentials(env, 'localhost:5000')).toBe(true);
    expect(await eraseCredentials(env, 'localhost:5000')).toBe(false);
    expect(await loadConfigFile(env)).toEqual({ detachKeys: 'ctrl-x', auths: {} });
  });

  it('goes through docker-credential-<name> when credsStore is set', async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'bin'));
    await mkdir(join(dir, 'dc'));
    const store = join(dir, 'store');
    // A helper that keeps one credential in a file: get/store/erase as the protocol says.
    const helper = `#!/bin/sh
case "$1" in
  store) cat > "${store}" ;;
  get) read server; if [ -f "${store}" ]; then cat "${store}"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) read server; rm -f "${store}" ;;
esac
`;
    await writeFile(join(dir, 'bin', 'docker-credential-testhelper'), helper);
    await chmod(join(dir, 'bin', 'docker-credential-testhelper'), 0o755);
    await writeFile(join(dir, 'dc', 'config.json'), JSON.stringify({ credsStore: 'testhelper' }));
    expect(await getCredentials(env, 'localhost:5000')).toBeUndefined();
    const where = await storeCredentials(env, 'localhost:5000', { username: 'u', password: 's3cret' });
    expect(where).toEqual({ helper: 'testhelper' });
    expect(JSON.parse(await readFile(store, 'utf8'))).toEqual({ ServerURL: 'localhost:5000', Username: 'u', Secret: 's3cret' });
    // config.json has an empty entry, never the secret.
    expect(JSON.parse(await readFile(join(dir, 'dc', 'config.json'), 'utf8'))).toEqual({ credsStore: 'testhelper', auths: { 'localhost:5000': {} } });
    expect(await getCredentials(env, 'localhost:5000')).toEqual({ username: 'u', password: 's3cret', serveraddress: 'localhost:5000' });
    await storeCredentials(env, 'localhost:5000', { username: 'u', identitytoken: 'tok' });
    expect(await getCredentials(env, 'localhost:5000')).toEqual({ identitytoken: 'tok', serveraddress: 'localhost:5000' });
    expect(await eraseCredentials(env, 'localhost:5000')).toBe(true);
    expect(await getCredentials(env, 'localhost:5000')).toBeUndefined();
  });

  it('says which helper is missing', async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'dc'));
    await writeFile(join(dir, 'dc', 'config.json'), JSON.stringify({ credsStore: 'nosuchhelper' }));
    await expect(getCredentials(env, 'localhost:5000')).rejects.toThrow('exec: "docker-credential-nosuchhelper": executable file not found in $PATH');
  });
});
