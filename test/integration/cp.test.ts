import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, link, lchown, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBusybox, REPO, rootSkipReason, rootTestsEnabled, startDaemon, type TestDaemon } from '../harness.js';

/**
 * `berth cp` and `docker cp` against berth (the archive endpoints): trees with modes, owners,
 * symlinks and hardlinks both ways, tar streams on stdin/stdout, running and stopped
 * containers, Docker's messages, mounts, and the escapes: a container whose /out points at
 * `/` (or climbs with ../../..) must keep every copy inside the container.
 */

interface Raw {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Like d.berth/d.docker, with stdout kept as bytes (tar archives). */
function raw(d: TestDaemon, client: 'berth' | 'docker', args: string[], input?: Buffer): Raw {
  const [cmd, argv] = client === 'docker' ? ['docker', args] : [process.execPath, [join(REPO, 'bin/berth'), ...args]];
  const r = spawnSync(cmd, argv, { env: d.env, input, timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status ?? 1, stdout: r.stdout ?? Buffer.alloc(0), stderr: r.stderr?.toString() ?? '' };
}

function tarList(buf: Buffer, verbose = false): string[] {
  const r = spawnSync('tar', [verbose ? '-tvf' : '-tf', '-'], { input: buf });
  return r.stdout.toString().split('\n').filter(Boolean);
}

function tarCreate(dir: string, ...members: string[]): Buffer {
  const r = spawnSync('tar', ['-C', dir, '-cf', '-', ...(members.length > 0 ? members : ['.'])]);
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr.toString()}`);
  return r.stdout;
}

/** A tar made entry by entry (hostile names go in as given). */
async function makeTar(entries: { name: string; type?: 'symlink' | 'file'; linkname?: string; body?: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    await new Promise<void>((res, rej) => {
      const cb = (err?: Error | null): void => (err ? rej(err) : res());
      if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname ?? '' }, cb);
      else pack.entry({ name: e.name, mode: 0o644 }, e.body ?? '', cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** One file's content out of a tar on stdout. */
function tarCat(buf: Buffer, member: string): string {
  return spawnSync('tar', ['-xOf', '-', member], { input: buf }).stdout.toString();
}

interface Node {
  type: 'dir' | 'file' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  content?: string;
  target?: string;
  ino?: number;
}

/** A tree as a comparable map: relative path → what it is (hardlinks as shared inode groups). */
async function snapshot(dir: string, owners = true): Promise<Record<string, Node>> {
  const out: Record<string, Node> = {};
  const inodes = new Map<number, string>();
  async function walk(abs: string, rel: string): Promise<void> {
    for (const n of (await readdir(abs)).sort()) {
      const p = join(abs, n);
      const r = rel === '' ? n : `${rel}/${n}`;
      const st = await lstat(p);
      const node: Node = {
        type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file',
        mode: st.isSymbolicLink() ? 0 : st.mode & 0o7777,
        uid: owners ? st.uid : 0,
        gid: owners ? st.gid : 0,
        mtime: st.isSymbolicLink() ? 0 : Math.floor(st.mtimeMs / 1000),
      };
      if (st.isFile()) {
        node.content = await readFile(p, 'utf8');
        if (st.nlink > 1) {
          const first = inodes.get(st.ino);
          if (first !== undefined) node.target = `hardlink:${first}`;
          else inodes.set(st.ino, r);
        }
      }
      if (st.isSymbolicLink()) node.target = await readlink(p);
      out[r] = node;
      if (st.isDirectory()) await walk(p, r);
    }
  }
  await walk(dir, '');
  return out;
}

describe.skipIf(!rootTestsEnabled())(`cp (${rootSkipReason})`, () => {
  let d: TestDaemon;
  let work: string;
  let tree: string;
  const T = new Date('2022-03-04T05:06:07Z');

  beforeAll(async () => {
    d = await startDaemon();
    loadBusybox(d);
    work = await mkdtemp('/tmp/berth-cp-it-');
    // The tree to copy: modes (setuid, 0600, 0750 dir), owners, symlinks, a hardlink, an empty dir.
    tree = join(work, 'tree');
    await mkdir(join(tree, 'sub/empty'), { recursive: true });
    await writeFile(join(tree, 'plain.txt'), 'plain\n');
    await writeFile(join(tree, 'secret'), 'secret\n');
    await writeFile(join(tree, 'tool'), '#!/bin/sh\necho tool\n');
    await writeFile(join(tree, 'sub/deep.txt'), 'deep\n');
    await writeFile(join(tree, 'with space'), 'spaced\n');
    await link(join(tree, 'sub/deep.txt'), join(tree, 'sub/hard'));
    await symlink('plain.txt', join(tree, 'rel-link'));
    await symlink('sub/deep.txt', join(tree, 'deep-link'));
    await symlink('/etc/hostname', join(tree, 'abs-link'));
    await chmod(join(tree, 'secret'), 0o600);
    await chmod(join(tree, 'tool'), 0o4755);
    await chmod(join(tree, 'sub'), 0o750);
    await chown(join(tree, 'secret'), 1234, 5678);
    await chown(join(tree, 'sub'), 42, 43);
    await chown(join(tree, 'sub/deep.txt'), 7, 8);
    await lchown(join(tree, 'rel-link'), 99, 98);
    await chmod(join(tree, 'tool'), 0o4755); // after chown (which clears setuid)
    for (const p of ['plain.txt', 'secret', 'tool', 'sub/deep.txt', 'with space', 'sub/empty', 'sub', '.']) await utimes(join(tree, p), T, T);
  });
  afterAll(async () => {
    await d?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe('a running container', () => {
    beforeAll(() => {
      expect(d.berth(['run', '-d', '--name', 'c1', 'busybox', 'sleep', '1000']).code).toBe(0);
    });

    it('round-trips a tree with modes, owners, symlinks and hardlinks (berth cp -a)', async () => {
      const to = d.berth(['cp', '-a', tree, 'c1:/copied']);
      expect(to).toEqual({ code: 0, stdout: '', stderr: '' });
      // Inside the container: owners and modes as on the host.
      const inside = d.berth(['exec', 'c1', 'sh', '-c', 'cd /copied && stat -c "%n %a %u:%g" secret tool sub sub/deep.txt && readlink rel-link && readlink abs-link && stat -c %h sub/hard']);
      expect(inside.stdout).toBe('secret 600 1234:5678\ntool 4755 0:0\nsub 750 42:43\nsub/deep.txt 644 7:8\nplain.txt\n/etc/hostname\n2\n');
      const back = join(work, 'back-berth');
      expect(d.berth(['cp', '-a', 'c1:/copied', back]).code).toBe(0);
      expect(await snapshot(back)).toEqual(await snapshot(tree));
    });

    it('round-trips the same tree with the docker CLI (owners kept going in; files are the caller’s coming back)', async () => {
      expect(d.docker(['cp', '-a', tree, 'c1:/copied-docker']).code).toBe(0);
      const inside = d.berth(['exec', 'c1', 'stat', '-c', '%n %a %u:%g', '/copied-docker/secret', '/copied-docker/sub']);
      expect(inside.stdout).toBe('/copied-docker/secret 600 1234:5678\n/copied-docker/sub 750 42:43\n');
      const back = join(work, 'back-docker');
      expect(d.docker(['cp', 'c1:/copied-docker', back]).code).toBe(0);
      // The docker CLI never chowns on the host: compare everything but owners.
      expect(await snapshot(back, false)).toEqual(await snapshot(tree, false));
      // berth cp without -a does the same.
      const back2 = join(work, 'back-berth-noa');
      expect(d.berth(['cp', 'c1:/copied-docker', back2]).code).toBe(0);
      expect(await snapshot(back2, false)).toEqual(await snapshot(tree, false));
      expect((await lstat(join(back2, 'secret'))).uid).toBe(0);
    });

    it('follows Docker’s rules for /., trailing slashes, new names and existing directories', async () => {
      const dst = join(work, 'rules');
      await mkdir(dst);
      // Into the container: a directory's content (/.) makes the new directory, a file takes a new name.
      for (const client of ['berth', 'docker'] as const) {
        expect(d[client](['cp', `${tree}/.`, `c1:/rules-${client}`]).code).toBe(0);
        expect(d[client](['cp', join(tree, 'plain.txt'), `c1:/rules-${client}/renamed`]).code).toBe(0);
        expect(d[client](['cp', join(tree, 'sub'), `c1:/rules-${client}/`]).code).toBe(0);
        // (The docker CLI also logs its tar writer's broken pipe: look for the line.)
        const nodir = d[client](['cp', join(tree, 'plain.txt'), `c1:/rules-${client}/nodir/`]);
        expect([nodir.code, nodir.stderr.split('\n')]).toEqual([1, expect.arrayContaining(['no such directory'])]);
        const dir2file = d[client](['cp', tree, `c1:/rules-${client}/plain.txt`]);
        expect([dir2file.code, dir2file.stderr.split('\n')]).toEqual([1, expect.arrayContaining(['cannot copy directory'])]);
      }
      const lsB = d.berth(['exec', 'c1', 'ls', '-a', '/rules-berth', '/rules-berth/sub']);
      expect(lsB.code).toBe(0);
      expect(lsB.stdout).toContain('renamed');
      expect(d.berth(['exec', 'c1', 'ls', '-a', '/rules-docker', '/rules-docker/sub']).stdout).toBe(lsB.stdout.replaceAll('rules-berth', 'rules-docker'));
      // Out of it: the same rules on the host.
      for (const client of ['berth', 'docker'] as const) {
        const o = join(dst, `${client}-out`);
        await mkdir(o);
        expect(d[client](['cp', 'c1:/copied/.', join(o, 'content')]).code).toBe(0);
        expect(d[client](['cp', 'c1:/copied/plain.txt', join(o, 'renamed.txt')]).code).toBe(0);
        expect(d[client](['cp', 'c1:/copied/plain.txt', o]).code).toBe(0);
        expect(d[client](['cp', 'c1:/copied/sub/', join(o, 'subcopy')]).code).toBe(0);
        expect(d[client](['cp', 'c1:/copied', o]).code).toBe(0);
        expect((await readdir(o)).sort()).toEqual(['content', 'copied', 'plain.txt', 'renamed.txt', 'subcopy']);
        expect((await readdir(join(o, 'content'))).sort()).toEqual((await readdir(tree)).sort());
        expect((await readdir(join(o, 'subcopy'))).sort()).toEqual(['deep.txt', 'empty', 'hard']);
        // Refusals, worded as docker words them.
        const dir2file = d[client](['cp', 'c1:/copied', join(o, 'plain.txt')]);
        expect(dir2file).toMatchObject({ code: 1, stderr: 'cannot copy directory\n' });
        const nodir = d[client](['cp', 'c1:/copied/plain.txt', join(o, 'nodir') + '/']);
        expect(nodir).toMatchObject({ code: 1, stderr: 'no such directory\n' });
      }
      expect(await snapshot(join(dst, 'berth-out'), false)).toEqual(await snapshot(join(dst, 'docker-out'), false));
    });

    it('streams tar archives on stdout and stdin', () => {
      for (const client of ['berth', 'docker'] as const) {
        const out = raw(d, client, ['cp', 'c1:/copied', '-']);
        expect(out.code).toBe(0);
        const names = tarList(out.stdout);
        expect(names).toContain('copied/');
        expect(names).toContain('copied/sub/deep.txt');
        expect(tarCat(out.stdout, 'copied/plain.txt')).toBe('plain\n');
        expect(tarList(raw(d, client, ['cp', 'c1:/copied/.', '-']).stdout)[0]).toBe('./');
        expect(tarList(raw(d, client, ['cp', 'c1:/copied/secret', '-']).stdout, true)[0]).toMatch(/^-rw------- 1234\/5678 +7 .* secret$/);

        expect(d.berth(['exec', 'c1', 'mkdir', `/from-stdin-${client}`]).code).toBe(0);
        const input = tarCreate(tree, './plain.txt', './sub');
        const put = raw(d, client, ['cp', '-', `c1:/from-stdin-${client}`], input);
        expect(put).toMatchObject({ code: 0, stderr: '' });
        expect(d.berth(['exec', 'c1', 'cat', `/from-stdin-${client}/plain.txt`, `/from-stdin-${client}/sub/deep.txt`]).stdout).toBe('plain\ndeep\n');
        // stdin needs an existing directory.
        const bad = raw(d, client, ['cp', '-', 'c1:/copied/plain.txt'], input);
        expect(bad).toMatchObject({ code: 1, stderr: 'destination "c1:/copied/plain.txt" must be a directory\n' });
      }
    });

    it('prints docker’s summary line when asked for output, and docker’s errors', async () => {
      await writeFile(join(work, 'small'), 'x');
      for (const client of ['berth', 'docker'] as const) {
        const dst = join(work, `small-${client}`);
        const r = d[client](['cp', '--quiet=false', 'c1:/copied/plain.txt', dst]);
        expect(r).toEqual({ code: 0, stdout: '', stderr: `Successfully copied 2.05kB to ${dst}\n` });
        const up = d[client](['cp', '-q=false', join(work, 'small'), 'c1:/tmp/']);
        expect(up).toEqual({ code: 0, stdout: '', stderr: 'Successfully copied 2.05kB to c1:/tmp/\n' });
        expect(d[client](['cp', 'c1:/nope', work])).toEqual({ code: 1, stdout: '', stderr: 'Error response from daemon: Could not find the file /nope in container c1\n' });
        expect(d[client](['cp', join(work, 'small'), 'c1:/nope/x'])).toEqual({ code: 1, stdout: '', stderr: 'Error response from daemon: Could not find the file /nope in container c1\n' });
        expect(d[client](['cp', 'nosuch:/x', work])).toMatchObject({ code: 1, stderr: 'Error response from daemon: No such container: nosuch\n' });
        expect(d[client](['cp', 'c1:/copied/plain.txt/', work])).toMatchObject({ code: 1, stderr: 'Error response from daemon: lstat /copied/plain.txt/: not a directory\n' });
        expect(d[client](['cp', join(work, 'nothing-here'), 'c1:/'])).toMatchObject({ code: 1, stderr: `lstat ${join(work, 'nothing-here')}: no such file or directory\n` });
        expect(d[client](['cp', 'c1:/a', 'c1:/b'])).toMatchObject({ code: 1, stderr: 'copying between containers is not supported\n' });
      }
    });

    it('follows a symlink source with -L, copying it under the link’s name', async () => {
      expect(d.berth(['exec', 'c1', 'ln', '-s', '/copied/sub', '/sublink']).code).toBe(0);
      for (const client of ['berth', 'docker'] as const) {
        const o = join(work, `L-${client}`);
        await mkdir(o);
        expect(d[client](['cp', 'c1:/sublink', o]).code).toBe(0);
        expect(await readlink(join(o, 'sublink'))).toBe('/copied/sub');
        expect(d[client](['cp', '-L', 'c1:/sublink', join(o, 'followed')]).code).toBe(0);
        expect((await readdir(join(o, 'followed'))).sort()).toEqual(['deep.txt', 'empty', 'hard']);
      }
    });
  });

  describe('a stopped container', () => {
    it('copies both ways, and leaves its root unmounted', async () => {
      expect(d.berth(['create', '--name', 'stopped', 'busybox', 'true']).code).toBe(0);
      expect(d.berth(['cp', join(tree, 'plain.txt'), 'stopped:/etc/']).code).toBe(0);
      expect(d.docker(['cp', join(tree, 'sub'), 'stopped:/srv-sub']).code).toBe(0);
      const out = raw(d, 'berth', ['cp', 'stopped:/etc/plain.txt', '-']);
      expect(tarCat(out.stdout, 'plain.txt')).toBe('plain\n');
      const o = join(work, 'from-stopped');
      expect(d.docker(['cp', 'stopped:/srv-sub', o]).code).toBe(0);
      expect(await readFile(join(o, 'deep.txt'), 'utf8')).toBe('deep\n');
      const id = d.berth(['inspect', '-f', '{{.Id}}', 'stopped']).stdout.trim();
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`${id}/merged`);
      // What was copied in is one of the container's changes.
      expect(d.berth(['diff', 'stopped']).stdout).toContain('A /etc/plain.txt');
    });
  });

  describe('escapes', () => {
    const marker = `berth-cp-escape-${randomBytes(4).toString('hex')}`;
    let hostDir: string;

    beforeAll(async () => {
      hostDir = await mkdtemp('/tmp/berth-cp-hostdir-');
      // /out -> / (stopped), /out -> ../../.. (running), /hostlink -> a real host directory's path.
      expect(d.berth(['run', '--name', 'esc-abs', 'busybox', 'sh', '-c', `ln -s / /out && ln -s ${hostDir} /hostlink && echo esc-abs > /etc/marker`]).code).toBe(0);
      expect(d.berth(['run', '-d', '--name', 'esc-rel', 'busybox', 'sh', '-c', `ln -s ../../.. /out && ln -s ${hostDir} /hostlink && echo esc-rel > /etc/marker && sleep 1000`]).code).toBe(0);
      for (let i = 0; i < 50 && d.berth(['exec', 'esc-rel', 'test', '-f', '/etc/marker']).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
      await writeFile(join(work, 'payload'), 'payload\n');
      await mkdir(join(work, 'payload-dir'));
      await writeFile(join(work, 'payload-dir/inner'), 'inner\n');
    });
    afterAll(async () => {
      await rm(hostDir, { recursive: true, force: true });
    });

    const hostUntouched = async (): Promise<void> => {
      expect(existsSync(`/${marker}`)).toBe(false);
      expect(existsSync(`/tmp/${marker}`)).toBe(false);
      expect(existsSync(`/payload-dir`)).toBe(false);
      expect(await readdir(hostDir)).toEqual([]);
    };

    for (const c of ['esc-abs', 'esc-rel']) {
      for (const client of ['berth', 'docker'] as const) {
        it(`${client} cp into ${c}:/out/... lands inside the container`, async () => {
          const name = `${marker}-${client}`;
          expect(d[client](['cp', join(work, 'payload'), `${c}:/out/${name}`]).code).toBe(0);
          expect(d[client](['cp', join(work, 'payload'), `${c}:/out/tmp/${name}`]).code).toBe(0);
          expect(d[client](['cp', join(work, 'payload-dir'), `${c}:/out/`]).code).toBe(0);
          expect(d[client](['cp', join(work, 'payload'), `${c}:/out/out/out/etc/${name}`]).code).toBe(0);
          await hostUntouched();
          expect(existsSync(`/${name}`)).toBe(false);
          expect(existsSync(`/tmp/${name}`)).toBe(false);
          expect(existsSync(`/etc/${name}`)).toBe(false);
          // Where it went: the container's /, /tmp and /etc.
          for (const p of [`/${name}`, `/tmp/${name}`, `/etc/${name}`]) {
            expect(tarCat(raw(d, 'berth', ['cp', `${c}:${p}`, '-']).stdout, name)).toBe('payload\n');
          }
          expect(tarCat(raw(d, 'berth', ['cp', `${c}:/payload-dir/inner`, '-']).stdout, 'inner')).toBe('inner\n');
          // A symlink holding a host path leads to that path in the container, never the host's.
          const viaHost = d[client](['cp', join(work, 'payload'), `${c}:/hostlink/${name}`]);
          expect(viaHost.code).toBe(1);
          expect(viaHost.stderr).toBe(`Error response from daemon: Could not find the file /hostlink in container ${c}\n`);
          await hostUntouched();
        });

        it(`${client} cp out of ${c}:/out/etc/passwd reads the container’s file`, async () => {
          const hostPasswd = readFileSync('/etc/passwd', 'utf8');
          const o = join(work, `passwd-${c}-${client}`);
          expect(d[client](['cp', `${c}:/out/etc/passwd`, o]).code).toBe(0);
          const got = await readFile(o, 'utf8');
          expect(got).toContain('root:x:0:0:root:/root:/bin/sh');
          expect(got).not.toBe(hostPasswd);
          expect(tarCat(raw(d, client, ['cp', `${c}:/out/out/etc/marker`, '-']).stdout, 'marker')).toBe(`${c}\n`);
          // The whole /out/etc directory is the container's.
          const listing = tarList(raw(d, client, ['cp', `${c}:/out/etc`, '-']).stdout);
          expect(listing).toContain('etc/marker');
          // -L on /out follows it inside the container.
          const l = raw(d, client, ['cp', '-L', `${c}:/out`, '-']);
          expect(l.code).toBe(0);
          expect(tarList(l.stdout)).toContain('/etc/marker');
        });
      }
    }

    it('an archive on stdin cannot plant a symlink and write through it to the host', async () => {
      // Two symlinks (to the host directory's path, and climbing up), then files through them.
      const input = await makeTar([
        { name: 'link', type: 'symlink', linkname: hostDir },
        { name: 'up', type: 'symlink', linkname: '../../../../../../../..' },
        { name: `link/${marker}`, body: 'pwned\n' },
        { name: `up/tmp/${marker}`, body: 'pwned\n' },
      ]);
      for (const client of ['berth', 'docker'] as const) {
        expect(d.berth(['exec', 'esc-rel', 'mkdir', '-p', `/stdin-${client}`]).code).toBe(0);
        const r = raw(d, client, ['cp', '-', `esc-rel:/stdin-${client}`], input);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        await hostUntouched();
        // The writes landed at the link targets as the container sees them.
        expect(d.berth(['exec', 'esc-rel', 'cat', `${hostDir}/${marker}`, `/tmp/${marker}`]).stdout).toBe('pwned\npwned\n');
      }
    });
  });

  describe('mounts', () => {
    it('reads and writes a bind mount’s source, and a running container’s tmpfs', async () => {
      const bindDir = await mkdtemp('/tmp/berth-cp-bind-');
      try {
        await writeFile(join(bindDir, 'in-bind'), 'bind\n');
        expect(d.berth(['run', '-d', '--name', 'mnt', '-v', `${bindDir}:/data`, '--tmpfs', '/scratch', 'busybox', 'sh', '-c', 'echo tmp > /scratch/t; sleep 1000']).code).toBe(0);
        for (let i = 0; i < 50 && d.berth(['exec', 'mnt', 'test', '-f', '/scratch/t']).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
        expect(tarCat(raw(d, 'docker', ['cp', 'mnt:/data/in-bind', '-']).stdout, 'in-bind')).toBe('bind\n');
        expect(tarCat(raw(d, 'berth', ['cp', 'mnt:/scratch/t', '-']).stdout, 't')).toBe('tmp\n');
        expect(d.docker(['cp', join(work, 'payload'), 'mnt:/data/']).code).toBe(0);
        expect(await readFile(join(bindDir, 'payload'), 'utf8')).toBe('payload\n');
        expect(d.berth(['cp', join(work, 'payload'), 'mnt:/scratch/']).code).toBe(0);
        expect(d.berth(['exec', 'mnt', 'cat', '/scratch/payload']).stdout).toBe('payload\n');
        // The generated /etc/hostname and /etc/hosts are the ones the container sees, and a
        // copy never detaches one of its mounts by replacing what it is mounted on.
        const hostname = d.berth(['exec', 'mnt', 'hostname']).stdout;
        expect(tarCat(raw(d, 'docker', ['cp', 'mnt:/etc/hostname', '-']).stdout, 'hostname')).toBe(hostname);
        expect(tarCat(raw(d, 'berth', ['cp', 'mnt:/etc/hosts', '-']).stdout, 'hosts')).toContain('127.0.0.1\tlocalhost');
        await writeFile(join(work, 'hosts'), '1.2.3.4 nope\n');
        expect(d.berth(['cp', join(work, 'hosts'), 'mnt:/etc/'])).toMatchObject({ code: 1, stderr: 'Error response from daemon: cannot replace mount point "/etc/hosts"\n' });
        expect(d.docker(['cp', join(work, 'hosts'), 'mnt:/etc/hosts'])).toMatchObject({ code: 1 });
        await mkdir(join(work, 'procfile'));
        await writeFile(join(work, 'procfile/proc'), 'x');
        expect(d.berth(['cp', `${join(work, 'procfile')}/.`, 'mnt:/'])).toMatchObject({ code: 1, stderr: 'Error response from daemon: cannot overwrite directory "/proc" with non-directory "/"\n' });
        expect(d.berth(['exec', 'mnt', 'sh', '-c', 'cat /etc/hosts; test -f /proc/self/status && echo proc-ok']).stdout).toMatch(/localhost[\s\S]*proc-ok\n$/);
        // The whole root includes the mounts' content.
        const all = tarList(raw(d, 'berth', ['cp', 'mnt:/', '-']).stdout);
        expect(all).toContain('/data/in-bind');
        expect(all).toContain('/scratch/t');
        expect(d.berth(['rm', '-f', 'mnt']).code).toBe(0);
      } finally {
        await rm(bindDir, { recursive: true, force: true });
      }
    });
  });
});
