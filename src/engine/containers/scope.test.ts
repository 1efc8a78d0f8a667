import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgument } from '../../core/errors.js';
import { dirHandle, entryPath, lastKind, MAX_SYMLINKS, mountOf, relOf, releaseCursor, resolveInScope, ScopeError, sortMounts, type Cursor, type ScopeWalker, type Step } from './scope.js';
import type { MountPoint } from './types.js';
import { closeFd, ContainerView, mountPointsOf, openRegularFile } from './view.js';

let base: string;
let root: string;
let host: string;

async function openFds(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'berth-scope-'));
  root = join(base, 'root');
  host = join(base, 'host');
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'a/b/c'), { recursive: true });
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await mkdir(host);
  await writeFile(join(root, 'etc/passwd'), 'container\n');
  await writeFile(join(host, 'passwd'), 'host\n');
  await symlink('/', join(root, 'out'));
  await symlink('../../..', join(root, 'up'));
  await symlink('/etc', join(root, 'abs'));
  await symlink('a/b', join(root, 'rel'));
  await symlink('..', join(root, 'a/b/parent'));
  await symlink('loop2', join(root, 'loop1'));
  await symlink('loop1', join(root, 'loop2'));
  await symlink('/nope/x', join(root, 'dangling'));
  await symlink(host, join(root, 'hostlink')); // an absolute host path: means root/<that path>
  await symlink('a/b/../../etc', join(root, 'dotdot'));
  await symlink('usr/lib', join(root, 'lib'));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function resolve(path: string, followFinal = true, mounts: MountPoint[] = []): Promise<{ rel: string; kind: string; stack: number }> {
  const view = await ContainerView.open({ root, mounts });
  const c = await resolveInScope(view, path, { followFinal });
  const out = { rel: relOf(c), kind: lastKind(c), stack: c.stack.length };
  releaseCursor(view, c);
  return out;
}

async function resolveError(path: string): Promise<ScopeError> {
  const view = await ContainerView.open({ root });
  const e = await resolveInScope(view, path, { followFinal: true }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ScopeError);
  return e as ScopeError;
}

describe('resolveInScope on a real tree', () => {
  it('resolves plain paths, lexically cleaned first', async () => {
    expect(await resolve('/etc/passwd')).toEqual({ rel: 'etc/passwd', kind: 'other', stack: 2 });
    expect(await resolve('etc//./passwd')).toMatchObject({ rel: 'etc/passwd' });
    expect(await resolve('/')).toEqual({ rel: '', kind: 'dir', stack: 1 });
    expect(await resolve('/a/b/c')).toEqual({ rel: 'a/b/c', kind: 'dir', stack: 4 });
    // `..` in the request is lexical (Docker cleans before resolving): /rel/.. is /.
    expect(await resolve('/rel/../etc')).toMatchObject({ rel: 'etc', kind: 'dir' });
  });

  it('never climbs above the root', async () => {
    expect(await resolve('/../../../etc/passwd')).toMatchObject({ rel: 'etc/passwd', kind: 'other' });
    expect(await resolve('/up/etc/passwd')).toMatchObject({ rel: 'etc/passwd', kind: 'other' });
    expect(await resolve('/up')).toMatchObject({ rel: '', kind: 'dir' });
    expect(await resolve('/a/b/parent/b/parent/b/c')).toMatchObject({ rel: 'a/b/c', kind: 'dir' });
  });

  it('resolves absolute symlinks against the container root, never the host', async () => {
    expect(await resolve('/out/etc/passwd')).toMatchObject({ rel: 'etc/passwd', kind: 'other' });
    expect(await resolve('/out/out/out')).toMatchObject({ rel: '', kind: 'dir' });
    expect(await resolve('/abs/passwd')).toMatchObject({ rel: 'etc/passwd' });
    // A symlink holding a host path points at that path inside the container (missing here).
    const r = await resolve('/hostlink/passwd');
    expect(r.rel).toBe(`${host.slice(1)}/passwd`);
    expect(r.kind).toBe('missing');
  });

  it('follows relative symlinks from their own directory, `..` in targets included', async () => {
    expect(await resolve('/rel/c')).toMatchObject({ rel: 'a/b/c', kind: 'dir' });
    expect(await resolve('/a/b/parent/b/c')).toMatchObject({ rel: 'a/b/c' });
    expect(await resolve('/dotdot/passwd')).toMatchObject({ rel: 'etc/passwd' });
    expect(await resolve('/lib')).toMatchObject({ rel: 'usr/lib', kind: 'dir' });
  });

  it('keeps a final symlink unless asked to follow it', async () => {
    expect(await resolve('/out', false)).toEqual({ rel: 'out', kind: 'symlink', stack: 1 });
    expect(await resolve('/out', true)).toEqual({ rel: '', kind: 'dir', stack: 1 });
    expect(await resolve('/abs', false)).toMatchObject({ rel: 'abs', kind: 'symlink' });
    // Only the last component stays: inner ones are always followed.
    expect(await resolve('/rel/c', false)).toMatchObject({ rel: 'a/b/c', kind: 'dir' });
  });

  it('accepts missing components (a copy may create them), dangling symlinks included', async () => {
    expect(await resolve('/nope/x/y')).toEqual({ rel: 'nope/x/y', kind: 'missing', stack: 1 });
    expect(await resolve('/dangling')).toMatchObject({ rel: 'nope/x', kind: 'missing' });
    expect(await resolve('/a/b/new')).toEqual({ rel: 'a/b/new', kind: 'missing', stack: 3 });
  });

  it('fails below a non-directory and on symlink loops', async () => {
    const e = await resolveError('/etc/passwd/x');
    expect(e.code).toBe('ENOTDIR');
    expect(e.at).toBe('/etc/passwd/x');
    const l = await resolveError('/loop1/x');
    expect(l.code).toBe('ELOOP');
    expect(l.message).toBe('too many links in /loop1/x');
  });

  it('stops after MAX_SYMLINKS links', async () => {
    // A chain of exactly MAX_SYMLINKS links resolves; one more is too many.
    for (let i = 0; i < MAX_SYMLINKS; i++) await symlink(`c${i + 1}`, join(root, `c${i}`));
    await mkdir(join(root, `c${MAX_SYMLINKS}`));
    expect(await resolve('/c0')).toMatchObject({ rel: `c${MAX_SYMLINKS}`, kind: 'dir' });
    await symlink('c0', join(root, 'cm1'));
    expect((await resolveError('/cm1')).code).toBe('ELOOP');
  });

  it('resolves from a cursor, and leaks no descriptors', async () => {
    const before = await openFds();
    const view = await ContainerView.open({ root });
    const dest = await resolveInScope(view, '/a/b', { followFinal: true });
    const c = await resolveInScope(view, 'c', { followFinal: true, from: dest });
    expect(relOf(c)).toBe('a/b/c');
    await symlink('../../up', join(root, 'a/b/toup'));
    await symlink('/etc', join(root, 'a/b/abs2'));
    const up = await resolveInScope(view, 'toup/etc', { followFinal: true, from: dest });
    expect(relOf(up)).toBe('etc');
    const abs = await resolveInScope(view, 'abs2/passwd', { followFinal: true, from: dest });
    expect(relOf(abs)).toBe('etc/passwd');
    // The relative path itself is cleaned lexically and cannot climb above the cursor.
    const lex = await resolveInScope(view, '../../x', { followFinal: true, from: dest });
    expect(relOf(lex)).toBe('a/b/x');
    expect(dirHandle(c)).toBeDefined();
    for (const x of [dest, c, up, abs, lex]) releaseCursor(view, x);
    await expect(resolveInScope(view, '/loop1', { followFinal: true })).rejects.toThrow(ScopeError);
    await expect(resolveInScope(view, '/etc/passwd/x', { followFinal: true })).rejects.toThrow(ScopeError);
    // fs.close is asynchronous: let it run.
    await new Promise((r) => setTimeout(r, 20));
    expect(await openFds()).toBe(before);
  });
});

describe('ContainerView mounts', () => {
  let vol: string;
  beforeEach(async () => {
    vol = join(base, 'vol');
    await mkdir(join(vol, 'sub'), { recursive: true });
    await writeFile(join(vol, 'f'), 'volume\n');
    await symlink('/etc/passwd', join(vol, 'pw'));
    await symlink('/', join(vol, 'top'));
    await mkdir(join(root, 'run'));
    await mkdir(join(root, 'var'));
    await symlink('/run', join(root, 'var/run'));
    await writeFile(join(base, 'single'), 'one file\n');
  });

  const bind = (Source: string, Destination: string, RW = true): MountPoint => ({ Type: 'bind', Source, Destination, Mode: '', RW, Propagation: 'rprivate' });

  it('looks paths below a destination up in the mount source', async () => {
    expect(await resolve('/data/f', true, [bind(vol, '/data')])).toMatchObject({ rel: 'data/f', kind: 'other' });
    expect(await resolve('/data/sub', true, [bind(vol, '/data')])).toMatchObject({ rel: 'data/sub', kind: 'dir', stack: 3 });
    // Without the mount, /data does not exist in the root.
    expect(await resolve('/data/f')).toMatchObject({ rel: 'data/f', kind: 'missing' });
  });

  it('resolves symlinks inside a volume in the container, not on the host', async () => {
    expect(await resolve('/data/pw', true, [bind(vol, '/data')])).toMatchObject({ rel: 'etc/passwd', kind: 'other' });
    expect(await resolve('/data/top/etc', true, [bind(vol, '/data')])).toMatchObject({ rel: 'etc', kind: 'dir' });
  });

  it('puts a destination below a symlink where the symlink leads (as runc mounts it)', async () => {
    const view = await ContainerView.open({ root, mounts: [bind(vol, '/var/run/app')] });
    expect(view.mounts.map((m) => m.dest)).toEqual(['run/app']);
    expect(await resolve('/var/run/app/f', true, [bind(vol, '/var/run/app')])).toMatchObject({ rel: 'run/app/f', kind: 'other' });
  });

  it('handles nested mounts, file binds, and skips tmpfs of a stopped container', async () => {
    const inner = join(base, 'inner');
    await mkdir(inner);
    await writeFile(join(inner, 'g'), 'inner\n');
    const tmpfs: MountPoint = { Type: 'tmpfs', Source: '', Destination: '/tmp', Mode: '', RW: true, Propagation: '' };
    const mounts = [bind(inner, '/data/sub/in'), bind(vol, '/data'), bind(join(base, 'single'), '/etc/single'), tmpfs];
    const view = await ContainerView.open({ root, mounts });
    expect(view.mounts.map((m) => m.dest)).toEqual(['data', 'etc/single', 'data/sub/in']);
    expect(view.mountOf('data/sub/in/g')?.dest).toBe('data/sub/in');
    expect(view.mountOf('data/sub')?.dest).toBe('data');
    expect(view.mountOf('etc')).toBeUndefined();
    expect(view.mountNamesIn('data/sub')).toEqual(['in']);
    expect(view.hasMountsWithin('data')).toBe(true);
    expect(view.hasMountsWithin('etc')).toBe(true);
    expect(view.hasMountsWithin('usr')).toBe(false);
    expect(await resolve('/data/sub/in/g', true, mounts)).toMatchObject({ rel: 'data/sub/in/g', kind: 'other' });
    expect(await resolve('/etc/single', true, mounts)).toMatchObject({ rel: 'etc/single', kind: 'other' });
  });
});

describe('resolveInScope with a fake walker', () => {
  // An in-memory tree: directories are objects, symlinks strings, files null.
  type Node = { [name: string]: Node | string | null };
  const tree: Node = { etc: { passwd: null }, l: '/etc', r: 'etc', self: '.', deep: { x: '../../../../etc' } };
  const walker: ScopeWalker<Node> & { open: number } = {
    open: 0,
    async root() {
      this.open++;
      return tree;
    },
    async step(dir, _rel, name): Promise<Step<Node>> {
      const n = dir[name];
      if (n === undefined) return { kind: 'missing' };
      if (n === null) return { kind: 'other' };
      if (typeof n === 'string') return { kind: 'symlink', target: n };
      this.open++;
      return { kind: 'dir', handle: n };
    },
    retain(h) {
      this.open++;
      return h;
    },
    release() {
      this.open--;
    },
  };

  it('is the same algorithm over any walker', async () => {
    const check = async (p: string, want: string, follow = true): Promise<Cursor<Node>> => {
      const c = await resolveInScope(walker, p, { followFinal: follow });
      expect(relOf(c)).toBe(want);
      return c;
    };
    for (const c of [
      await check('/l/passwd', 'etc/passwd'),
      await check('/r/../l', 'etc'),
      await check('/self/self/etc', 'etc'),
      await check('/deep/x/passwd', 'etc/passwd'),
      await check('/l', 'l', false),
    ]) releaseCursor(walker, c);
    expect(walker.open).toBe(0);
  });
});

describe('helpers', () => {
  it('mountOf picks the deepest mount containing a path', () => {
    const ms = [{ dest: 'data' }, { dest: 'data/a' }, { dest: 'datab' }];
    expect(mountOf(ms, 'data/a/x')?.dest).toBe('data/a');
    expect(mountOf(ms, 'data/ab')?.dest).toBe('data');
    expect(mountOf(ms, 'datab/x')?.dest).toBe('datab');
    expect(mountOf(ms, 'dat')).toBeUndefined();
  });

  it('sortMounts orders by destination depth, stable', () => {
    const m = (d: string) => ({ Destination: d });
    expect(sortMounts([m('/a/b/c'), m('/x'), m('/a/b'), m('/y/')]).map((x) => x.Destination)).toEqual(['/x', '/y/', '/a/b', '/a/b/c']);
  });

  it('entryPath cleans tar names and refuses climbing out', () => {
    expect(entryPath('./a/../b/', '/dst')).toBe('b');
    expect(entryPath('/abs/x', '/dst')).toBe('abs/x');
    expect(entryPath('.', '/dst')).toBe('');
    expect(() => entryPath('../x', '/dst')).toThrow(InvalidArgument);
    expect(() => entryPath('a/../../x', '/dst')).toThrow('"a/../../x" is outside of "/dst"');
  });
});

describe('openRegularFile', () => {
  it('opens regular files only, never through a final symlink, never a fifo', async () => {
    const f = await openRegularFile(join(root, 'etc/passwd'));
    expect(f?.st.size).toBe(10);
    if (f) {
      expect(await readFile(`/proc/self/fd/${f.fd}`, 'utf8')).toBe('container\n');
      await closeFd(f.fd);
    }
    await symlink(join(host, 'passwd'), join(root, 'etc/link'));
    expect(await openRegularFile(join(root, 'etc/link'))).toBeUndefined();
    const g = await openRegularFile(join(root, 'etc/link'), true);
    expect(g?.st.size).toBe(5);
    if (g) await closeFd(g.fd);
    execFileSync('mkfifo', [join(root, 'fifo')]);
    // Would block forever if it were opened for reading.
    expect(await openRegularFile(join(root, 'fifo'))).toBeUndefined();
    expect(await openRegularFile(join(root, 'etc'))).toBeUndefined();
    expect(await openRegularFile(join(root, 'missing'))).toBeUndefined();
  });
});

describe('mountPointsOf', () => {
  it('reads mount points from a mountinfo, unescaped, the root left out', () => {
    const info = [
      '611 540 0:62 / / rw,relatime - overlay overlay rw,lowerdir=/x',
      '612 611 0:65 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
      '613 611 0:66 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755',
      '620 611 8:1 /var/lib/berth/containers/abc/hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw',
      '621 611 8:1 /srv/my\\040data /my\\040data rw - ext4 /dev/sda1 rw',
      '',
    ].join('\n');
    expect(mountPointsOf(info)).toEqual(['proc', 'dev', 'etc/hosts', 'my data']);
  });
});
