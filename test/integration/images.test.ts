import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTar, readTar } from '../../src/engine/layers/test-helpers.js';
import { CACHE, inspectField, loadBusybox, rootSkipReason, rootTestsEnabled, startDaemon, type TestDaemon } from '../harness.js';

/**
 * Images through the docker CLI (and berth's): import with --change, listing and filters,
 * tag, rmi, inspect, history, prune, save/load both ways, and a container's commit, diff
 * and export.
 */

const BUSYBOX_TAR = join(CACHE, 'images', 'busybox.tar');

describe.skipIf(!rootTestsEnabled())(`images (${rootSkipReason})`, () => {
  let d: TestDaemon;
  let tmp: string;
  let busyboxId: string;

  beforeAll(async () => {
    d = await startDaemon();
    loadBusybox(d);
    busyboxId = inspectField(d, 'busybox', '{{.Id}}');
    tmp = await mkdtemp(join(tmpdir(), 'berth-images-it-'));
  });
  afterAll(async () => {
    await d?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const tags = (args: string[] = []) => {
    const r = d.docker(['images', ...args, '--format', '{{.Repository}}:{{.Tag}}']);
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').filter(Boolean).sort();
  };

  it('import applies --change and the image runs with it', () => {
    const r = d.docker([
      'import',
      '--change', 'ENV GREETING=hello',
      '--change', 'WORKDIR /srv',
      '--change', 'LABEL team=images',
      '--change', 'CMD ["sh", "-c", "echo $GREETING from $(pwd)"]',
      '-m', 'from the cache',
      BUSYBOX_TAR,
      'bbx:1',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const id = r.stdout.trim();
    expect(inspectField(d, 'bbx:1', '{{.Id}}')).toBe(id);
    expect(inspectField(d, 'bbx:1', '{{json .Config.Cmd}} {{.Config.WorkingDir}} {{index .Config.Labels "team"}}')).toBe(
      '["sh","-c","echo $GREETING from $(pwd)"] /srv images',
    );
    expect(inspectField(d, 'bbx:1', '{{json .Config.Env}}')).toContain('"GREETING=hello"');
    expect(d.docker(['run', '--rm', 'bbx:1'])).toEqual({ code: 0, stdout: 'hello from /srv\n', stderr: '' });
    // Same layer as busybox (same tar): a different image because the config differs.
    expect(id).not.toBe(busyboxId);
    expect(inspectField(d, 'bbx:1', '{{json .RootFS.Layers}}')).toBe(inspectField(d, 'busybox', '{{json .RootFS.Layers}}'));
  });

  it('images lists with --format, -q and --filter reference=', () => {
    expect(tags()).toEqual(['bbx:1', 'busybox:latest']);
    const q = d.docker(['images', '-q']).stdout.split('\n').filter(Boolean).sort();
    expect(q).toEqual([busyboxId.slice(7, 19), inspectField(d, 'bbx:1', '{{.Id}}').slice(7, 19)].sort());
    expect(tags(['--filter', 'reference=busybox'])).toEqual(['busybox:latest']);
    expect(tags(['--filter', 'reference=bb*'])).toEqual(['bbx:1']);
    expect(tags(['--filter', 'reference=*:1'])).toEqual(['bbx:1']);
    expect(tags(['--filter', 'reference=nothing'])).toEqual([]);
    expect(d.docker(['images', '--filter', 'label=team=images', '--format', '{{.Repository}}']).stdout).toBe('bbx\n');
    const table = d.docker(['images', 'busybox']).stdout.split('\n');
    expect(table[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(table[1]).toMatch(new RegExp(`^busybox\\s+latest\\s+${busyboxId.slice(7, 19)}\\s+.+\\s+\\d+(\\.\\d+)?MB$`));
    expect(d.berth(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', 'busybox']).stdout).toBe(`busybox:latest ${busyboxId.slice(7, 19)}\n`);
    // until: images made before the time (the imports are from now); bad values refused as Docker does.
    expect(tags(['--filter', 'until=2000-01-01T00:00:00Z'])).toEqual([]);
    expect(tags(['--filter', `until=${Math.floor(Date.now() / 1000) + 60}`])).toEqual(['bbx:1', 'busybox:latest']);
    const bad = d.docker(['images', '--filter', 'dangling=bogus']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("Error response from daemon: invalid filter 'dangling=[bogus]'");
  });

  it('tag adds a name for the same image; a reference filter lists only the matching tag', () => {
    expect(d.docker(['tag', 'busybox', 'mybox:2'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(d.berth(['tag', 'busybox:latest', 'registry.local:5000/team/box:v1']).code).toBe(0);
    expect(inspectField(d, 'mybox:2', '{{.Id}}')).toBe(busyboxId);
    expect(inspectField(d, 'registry.local:5000/team/box:v1', '{{.Id}}')).toBe(busyboxId);
    expect(JSON.parse(inspectField(d, 'busybox', '{{json .RepoTags}}')).sort()).toEqual(['busybox:latest', 'mybox:2', 'registry.local:5000/team/box:v1']);
    // In the order of their full names, as Docker lists them (docker.io/library/... before docker.io/team/...).
    expect(d.docker(['tag', 'busybox', 'team/app:1']).code).toBe(0);
    expect(JSON.parse(inspectField(d, 'busybox', '{{json .RepoTags}}'))).toEqual(['busybox:latest', 'mybox:2', 'team/app:1', 'registry.local:5000/team/box:v1']);
    expect(d.docker(['rmi', 'team/app:1']).code).toBe(0);
    expect(tags(['--filter', 'reference=mybox'])).toEqual(['mybox:2']);
    expect(tags(['--filter', 'reference=*/*/*'])).toEqual(['registry.local:5000/team/box:v1']);
    expect(tags(['--filter', 'reference=busybox', '--filter', 'reference=mybox:*'])).toEqual(['busybox:latest', 'mybox:2']);
    // Removing one of several tags only untags.
    expect(d.docker(['rmi', 'registry.local:5000/team/box:v1'])).toEqual({ code: 0, stdout: 'Untagged: registry.local:5000/team/box:v1\n', stderr: '' });
    expect(inspectField(d, 'busybox', '{{.Id}}')).toBe(busyboxId);
  });

  it('image inspect and history describe the image', async () => {
    const [img] = JSON.parse(d.docker(['image', 'inspect', 'busybox']).stdout) as [{ Id: string; Os: string; Architecture: string; Config: { Cmd: string[] }; RootFS: { Type: string; Layers: string[] }; Size: number }];
    expect(img.Id).toBe(busyboxId);
    expect(img.Os).toBe('linux');
    expect(img.Architecture).toBe(process.arch === 'x64' ? 'amd64' : process.arch);
    expect(img.Config.Cmd).toEqual(['sh']);
    expect(img.RootFS.Type).toBe('layers');
    expect(img.RootFS.Layers).toHaveLength(1);
    expect(img.RootFS.Layers[0]).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Docker's size of a layer: its files (regular files and symlink targets), not its tar.
    const entries = await readTar(await readFile(join(CACHE, 'images', 'busybox.tar')));
    const files = entries.reduce((n, e) => n + (e.header.type === 'file' ? e.body.length : e.header.type === 'symlink' ? Buffer.byteLength(e.header.linkname ?? '') : 0), 0);
    expect(img.Size).toBe(files);
    const shown = d.docker(['images', '--format', '{{.Size}}', 'busybox']).stdout.trim();
    expect(shown).toMatch(/^\d+(\.\d+)?MB$/);
    expect(d.docker(['history', '--format', '{{.Size}}', 'busybox']).stdout.trim()).toBe(shown);
    const missing = d.docker(['image', 'inspect', 'nosuch:9']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No such image: nosuch:9');

    const h = d.docker(['history', '--format', '{{.ID}}|{{.Comment}}', 'bbx:1']);
    expect(h).toEqual({ code: 0, stdout: `${inspectField(d, 'bbx:1', '{{.Id}}').slice(7, 19)}|from the cache\n`, stderr: '' });
    expect(d.docker(['history', 'busybox']).stdout.split('\n')[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
  });

  it('rmi refuses an image a container uses unless forced', () => {
    // mybox:3 is the only name of its image (bbx:1 tagged, then bbx:1 untagged).
    expect(d.docker(['tag', 'bbx:1', 'mybox:3']).code).toBe(0);
    expect(d.docker(['rmi', 'bbx:1']).stdout).toBe('Untagged: bbx:1\n');
    const c = d.docker(['create', '--name', 'user3', 'mybox:3']);
    expect(c.code).toBe(0);
    const refused = d.docker(['rmi', 'mybox:3']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('must force');
    expect(refused.stderr).toContain(`container ${c.stdout.trim().slice(0, 12)} is using its referenced image`);
    expect(tags()).toContain('mybox:3');
    const forced = d.docker(['rmi', '-f', 'mybox:3']);
    expect(forced.code).toBe(0);
    // Docker's rule: a stopped container does not keep a forced-out image.
    const imageId = inspectField(d, 'user3', '{{.Image}}');
    expect(forced.stdout).toBe(`Untagged: mybox:3\nDeleted: ${imageId}\n`);
    expect(tags()).not.toContain('mybox:3');
    // The container keeps working.
    expect(d.docker(['start', '-a', 'user3'])).toEqual({ code: 0, stdout: 'hello from /srv\n', stderr: '' });
    expect(d.docker(['rm', 'user3']).code).toBe(0);
    const gone = d.docker(['rmi', 'nosuch:1']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('No such image: nosuch:1');
  });

  it('image prune removes dangling images no container uses', async () => {
    const tar = join(tmp, 'dangling.tar');
    await writeFile(tar, await makeTar([{ header: { name: 'dangling.txt', mode: 0o644 }, body: 'x' }]));
    const r = d.berth(['import', tar]);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    expect(d.docker(['images', '--filter', 'dangling=true', '-q', '--no-trunc']).stdout).toContain(id);
    const p = d.docker(['image', 'prune', '-f']);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain(`deleted: ${id}`);
    expect(p.stdout).toMatch(/Total reclaimed space: /);
    expect(d.docker(['image', 'inspect', id]).code).toBe(1);
    expect(tags()).toEqual(['busybox:latest', 'mybox:2']);
    expect(d.docker(['image', 'prune', '-f']).stdout).toBe('Total reclaimed space: 0B\n');
  });

  it('image prune filters: until keeps what is newer, label! keeps what has the label, a bad filter is refused', async () => {
    const tar = join(tmp, 'filtered.tar');
    await writeFile(tar, await makeTar([{ header: { name: 'filtered.txt', mode: 0o644 }, body: 'y' }]));
    const fresh = d.berth(['import', '--change', 'LABEL keep=yes', tar]).stdout.trim();
    expect(fresh).toMatch(/^sha256:/);
    expect(d.docker(['image', 'prune', '-f', '--filter', 'until=1h']).stdout).not.toContain(fresh);
    expect(d.docker(['image', 'prune', '-f', '--filter', 'label!=keep=yes']).stdout).not.toContain(fresh);
    for (const [filter, message] of [
      ['until=abc', "invalid filter 'until=abc'"],
      ['bogus=1', "invalid filter 'bogus'"],
    ]) {
      const r = d.docker(['image', 'prune', '-f', '--filter', filter as string]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(message);
    }
    expect(d.docker(['image', 'prune', '-f', '--filter', 'label=keep=yes']).stdout).toContain(`deleted: ${fresh}`);
  });

  it('docker save | rmi | load round-trips image, ID and tags', () => {
    const file = join(tmp, 'saved.tar');
    expect(d.docker(['tag', 'busybox', 'roundtrip:1']).code).toBe(0);
    const id = inspectField(d, 'roundtrip:1', '{{.Id}}');
    expect(d.docker(['save', '-o', file, 'roundtrip:1'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(d.docker(['rmi', 'roundtrip:1']).stdout).toBe('Untagged: roundtrip:1\n');
    expect(d.docker(['image', 'inspect', 'roundtrip:1']).code).toBe(1);
    const l = d.docker(['load', '-i', file]);
    expect(l).toEqual({ code: 0, stdout: 'Loaded image: roundtrip:1\n', stderr: '' });
    expect(inspectField(d, 'roundtrip:1', '{{.Id}}')).toBe(id);
    expect(d.docker(['run', '--rm', 'roundtrip:1', 'echo', 'loaded']).stdout).toBe('loaded\n');
  });

  it('an archive from berth save loads with docker load, and a deleted image comes back whole', async () => {
    // A one-off image whose layer is not shared, so rmi really deletes the layer.
    const tar = join(tmp, 'own.tar');
    await writeFile(tar, await makeTar([{ header: { name: 'etc/', type: 'directory', mode: 0o755 } }, { header: { name: 'etc/own.txt', mode: 0o644 }, body: 'own layer\n' }]));
    expect(d.docker(['import', '--change', 'LABEL own=1', tar, 'own:1']).code).toBe(0);
    const id = inspectField(d, 'own:1', '{{.Id}}');
    const file = join(tmp, 'berth-saved.tar');
    const s = d.berth(['save', '-o', file, 'own:1']);
    expect(s).toEqual({ code: 0, stdout: '', stderr: '' });
    const names = (await readTar(await readFile(file))).map((e) => e.header.name);
    expect(names).toEqual(expect.arrayContaining(['manifest.json', 'index.json', 'oci-layout', 'repositories', `blobs/sha256/${id.slice(7)}`]));
    const rmi = d.docker(['rmi', 'own:1']);
    expect(rmi.stdout).toBe(`Untagged: own:1\nDeleted: ${id}\n`);
    expect(d.docker(['load', '-i', file])).toEqual({ code: 0, stdout: 'Loaded image: own:1\n', stderr: '' });
    expect(inspectField(d, 'own:1', '{{.Id}} {{index .Config.Labels "own"}}')).toBe(`${id} 1`);
    // The layer is back: export a container of it and find the file.
    const c = d.docker(['create', 'own:1', '/nothing']).stdout.trim();
    const out = join(tmp, 'own-export.tar');
    expect(d.docker(['export', '-o', out, c]).code).toBe(0);
    const entries = await readTar(await readFile(out));
    expect(entries.find((e) => e.header.name === 'etc/own.txt')?.body.toString()).toBe('own layer\n');
    d.docker(['rm', c]);
  });

  describe('a container\'s changes', () => {
    beforeAll(() => {
      const r = d.docker(['run', '--name', 'changer', 'busybox', 'sh', '-c', 'echo committed-data > /data.txt; rm /bin/vi; mkdir -p /opt/app; echo x > /opt/app/f']);
      expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    });

    it('diff lists A/C/D like docker, without the files berth generates', () => {
      const r = d.docker(['diff', 'changer']);
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n').filter(Boolean)).toEqual(['C /bin', 'D /bin/vi', 'A /data.txt', 'A /opt', 'A /opt/app', 'A /opt/app/f']);
      expect(r.stdout).not.toMatch(/\/etc\/(hosts|hostname|resolv\.conf)|\.dockerenv/);
      expect(d.berth(['diff', 'changer']).stdout).toBe(r.stdout);
    });

    it('commit with -c and -m makes an image that runs', () => {
      const r = d.docker(['commit', '-c', 'CMD ["cat", "/data.txt"]', '-m', 'saved the data', 'changer', 'committed:1']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
      expect(inspectField(d, 'committed:1', '{{.Id}}')).toBe(r.stdout.trim());
      expect(inspectField(d, 'committed:1', '{{.Comment}} {{json .Config.Cmd}}')).toBe('saved the data ["cat","/data.txt"]');
      expect(JSON.parse(inspectField(d, 'committed:1', '{{json .RootFS.Layers}}'))).toHaveLength(2);
      expect(d.docker(['run', '--rm', 'committed:1'])).toEqual({ code: 0, stdout: 'committed-data\n', stderr: '' });
      // The deletion is in the image too.
      expect(d.docker(['run', '--rm', 'committed:1', 'ls', '/bin/vi']).code).not.toBe(0);
      const h = d.docker(['history', '--format', '{{.Comment}}', 'committed:1']).stdout;
      expect(h.split('\n')[0]).toBe('saved the data');
      expect(h.split('\n').filter(Boolean)).toHaveLength(2);
    });

    it('export is a tar of the container\'s whole filesystem', async () => {
      const file = join(tmp, 'changer.tar');
      expect(d.docker(['export', '-o', file, 'changer'])).toEqual({ code: 0, stdout: '', stderr: '' });
      const entries = await readTar(await readFile(file));
      const byName = new Map(entries.map((e) => [e.header.name.replace(/^\.?\//, ''), e]));
      expect(byName.get('data.txt')?.body.toString()).toBe('committed-data\n');
      expect(byName.get('opt/app/f')?.body.toString()).toBe('x\n');
      expect(byName.has('bin/sh')).toBe(true);
      expect(byName.has('bin/vi')).toBe(false);
      // berth's export: the same files.
      const file2 = join(tmp, 'changer-berth.tar');
      expect(d.berth(['export', '-o', file2, 'changer'])).toEqual({ code: 0, stdout: '', stderr: '' });
      expect((await readTar(await readFile(file2))).map((e) => e.header.name)).toEqual(entries.map((e) => e.header.name));
    });
  });
});
