import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTar, type TarEntry } from '../../src/engine/layers/test-helpers.js';
import { api, loadBusybox, ping, rootSkipReason, rootTestsEnabled, startDaemon, type TestDaemon } from '../harness.js';

/**
 * Bad input: each is a clear error with a non-zero exit, and nothing is left behind —
 * no container, no image, no snapshot, and no file outside the daemon's root.
 */

describe.skipIf(!rootTestsEnabled())(`bad input (${rootSkipReason})`, () => {
  let d: TestDaemon;
  let tmp: string;

  beforeAll(async () => {
    d = await startDaemon();
    loadBusybox(d);
    tmp = await mkdtemp(join(tmpdir(), 'berth-bad-input-'));
  });
  afterAll(async () => {
    await d?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const containers = () => d.docker(['ps', '-aq', '--no-trunc']).stdout;
  const images = () => d.docker(['images', '-a', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']).stdout;
  const snapshots = async () => (await readdir(join(d.root, 'snapshots'))).sort();

  /** What must not change when a request is refused. */
  async function unchanged<T>(fn: () => T | Promise<T>): Promise<T> {
    const before = { containers: containers(), images: images(), snapshots: await snapshots() };
    const out = await fn();
    expect({ containers: containers(), images: images(), snapshots: await snapshots() }).toEqual(before);
    // Nothing half-written stays (`partial/` holds resumable pulls, empty here).
    const ingest = await readdir(join(d.root, 'content', 'ingest'));
    expect(ingest.filter((e) => e !== 'partial')).toEqual([]);
    if (ingest.includes('partial')) expect(await readdir(join(d.root, 'content', 'ingest', 'partial'))).toEqual([]);
    return out;
  }

  it('an unknown image: docker run and create fail with 125 and create nothing', async () => {
    await unchanged(() => {
      const r = d.docker(['run', 'nosuch:1']);
      expect(r.code).toBe(125);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain("Unable to find image 'nosuch:1' locally");
      // Test daemons send docker.io to a closed local port (test/harness.ts): the pull fails there.
      expect(r.stderr).toMatch(/docker: Error response from daemon: (pull access denied for .*nosuch|Get "http:\/\/127\.0\.0\.1:9\/v2\/": dial tcp 127\.0\.0\.1:9: connect: connection refused)/);
      const never = d.docker(['run', '--pull', 'never', 'nosuch:1']);
      expect(never.code).toBe(125);
      expect(never.stderr).toContain('No such image: nosuch:1');
      expect(never.stderr).not.toContain('Unable to find image');
      // create exits 1 on the daemon's refusal (125 is for options it cannot parse), like docker.
      const dc = d.docker(['create', 'nosuch:1']);
      expect(dc.code).toBe(1);
      expect(dc.stderr).toContain("Unable to find image 'nosuch:1' locally");
      const b = d.berth(['create', 'nosuch:1']);
      expect(b.code).toBe(1);
      expect(b.stderr).toContain("Unable to find image 'nosuch:1' locally");
    });
  });

  it('a bad reference: refused by the CLIs and by the daemon', async () => {
    await unchanged(async () => {
      const r = d.docker(['tag', 'busybox', 'Bad:Ref']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('invalid reference format: repository name (library/Bad) must be lowercase');
      const b = d.berth(['tag', 'busybox', 'Bad:Ref']);
      expect(b.code).toBe(1);
      expect(b.stderr).toContain('Error parsing reference: "Bad:Ref" is not a valid repository/tag: invalid reference format: repository name (library/Bad) must be lowercase');
      // The daemon checks too (the CLIs above never sent it).
      const a = await api(d, 'POST', '/v1.44/images/busybox/tag?repo=Bad&tag=Ref');
      expect(a.status).toBe(400);
      expect(JSON.parse(a.body).message).toContain('must be lowercase');
      const t = await api(d, 'POST', '/v1.44/images/busybox/tag?repo=ok&tag=bad%20tag');
      expect(t.status).toBe(400);
      expect(JSON.parse(t.body).message).toContain('invalid reference format');
    });
  });

  it('a name already in use: docker\'s conflict message, the first container untouched', async () => {
    const first = d.docker(['create', '--name', 'taken', 'busybox', 'true']);
    expect(first.code).toBe(0);
    await unchanged(() => {
      const r = d.docker(['run', '--name', 'taken', 'busybox', 'echo', 'never']);
      expect(r.code).toBe(125);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`Conflict. The container name "/taken" is already in use by container "${first.stdout.trim()}". You have to remove (or rename) that container to be able to reuse that name.`);
      const b = d.berth(['create', '--name', 'taken', 'busybox']);
      expect(b.code).toBe(1);
      expect(b.stderr).toContain('is already in use by container');
      for (const cli of [d.docker, d.berth]) {
        const bad = cli(['create', '--name', 'no/slashes', 'busybox']);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain('Invalid container name (no/slashes), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed');
      }
    });
    expect(d.docker(['rm', 'taken']).stdout).toBe('taken\n');
  });

  it('a bad stop signal, working dir, tmpfs option or DNS server: refused at create, by name, for both CLIs', async () => {
    await unchanged(() => {
      const cases: [string[], string][] = [
        [['--stop-signal', 'SIGFOO'], 'Invalid signal: SIGFOO'],
        [['-w', 'relative'], "the working directory 'relative' is invalid, it needs to be an absolute path"],
        [['--tmpfs', '/run:size=abc'], 'invalid tmpfs option for /run: size=abc'],
      ];
      for (const [flags, message] of cases) {
        for (const cli of [d.docker, d.berth]) {
          const r = cli(['create', ...flags, 'busybox', 'true']);
          expect(r.code).not.toBe(0);
          expect(r.stderr).toContain(message);
        }
      }
      const dns = d.berth(['run', '--rm', '--dns', 'notanip', 'busybox', 'true']);
      expect(dns.code).toBe(125);
      expect(dns.stderr).toContain('invalid argument "notanip" for "--dns" flag: IP address is not correctly formatted: notanip');
    });
  });

  it('a missing object, a bad tag, a taken name, a bad time or policy: the same words and exit code from both CLIs', async () => {
    await unchanged(() => {
      expect(d.docker(['create', '--name', 'named-a', 'busybox', 'true']).code).toBe(0);
      expect(d.docker(['create', '--name', 'named-b', 'busybox', 'true']).code).toBe(0);
      try {
        for (const args of [
          ['container', 'inspect', 'nope'],
          ['image', 'inspect', 'nope'],
          ['inspect', '--type', 'network', 'nope'],
          ['inspect', '--type', 'volume', 'nope'],
          ['inspect', 'nope'],
          ['rename', 'nope', 'x'],
          ['rename', 'named-a', 'named-b'],
          ['tag', 'busybox', 'Bad:Ref'],
          ['tag', 'busybox', 'bad:tag:x'],
          ['tag', 'busybox', `x@sha256:${'0'.repeat(64)}`],
          ['logs', '--since', 'abc', 'named-a'],
          ['logs', '--until', 'abc', 'named-a'],
          ['events', '--since', 'abc'],
          ['update', '--restart', ':3', 'named-a'],
        ]) {
          const viaDocker = d.docker(args);
          expect(viaDocker.code, args.join(' ')).toBe(1);
          expect(viaDocker.stderr, args.join(' ')).not.toBe('');
          expect(d.berth(args), args.join(' ')).toEqual(viaDocker);
        }
      } finally {
        d.docker(['rm', 'named-a', 'named-b']);
      }
    });
  });

  it('bad filters are refused before anything is listed or pruned (a bad until once pruned everything)', async () => {
    await unchanged(async () => {
      expect(d.docker(['create', '--name', 'kept-by-filter', 'busybox', 'true']).code).toBe(0);
      const cases: [string[], string][] = [
        [['container', 'prune', '-f', '--filter', 'until=abc'], "invalid filter 'until=abc'"],
        [['container', 'prune', '-f', '--filter', 'bogus=1'], "invalid filter 'bogus'"],
        [['network', 'prune', '-f', '--filter', 'bogus=1'], "invalid filter 'bogus'"],
        [['ps', '-a', '--filter', 'bogus=1'], "invalid filter 'bogus'"],
        [['ps', '-a', '--filter', 'status=bogus'], "invalid filter 'status=bogus'"],
        [['ps', '-a', '--filter', 'before=nonexist'], 'No such container: nonexist'],
        [['events', '--filter', 'bogus=1', '--since', '0', '--until', '1'], "invalid filter 'bogus'"],
      ];
      for (const [args, message] of cases) {
        for (const cli of [d.docker, d.berth]) {
          const r = cli(args);
          expect(r.code).not.toBe(0);
          expect(r.stderr).toContain(message);
        }
      }
      expect(d.docker(['ps', '-a', '--filter', 'name=kept-by-filter', '--format', '{{.Names}}']).stdout).toBe('kept-by-filter\n');
      expect(d.docker(['rm', 'kept-by-filter']).code).toBe(0);
    });
  });

  it('a missing network or container at create is an error, not a missing image the docker CLI would go and pull', async () => {
    await unchanged(() => {
      for (const flags of [['--network', 'nonexist'], ['--network', 'container:nonexist'], ['--volumes-from', 'nonexist']]) {
        const r = d.docker(['run', '--rm', ...flags, 'busybox', 'true']);
        expect(r.code).toBe(125);
        expect(r.stderr).not.toContain('Unable to find image');
        expect(r.stderr).toMatch(/network nonexist not found|No such container: nonexist/);
      }
    });
  });

  it('a network MTU that is not a number is refused', () => {
    const r = d.docker(['network', 'create', '-o', 'com.docker.network.driver.mtu=abc', 'badmtu']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('invalid value for com.docker.network.driver.mtu: "abc"');
  });

  it('berth import and docker load of garbage: invalid tar, nothing stored', async () => {
    const garbage = join(tmp, 'garbage.tar');
    await writeFile(garbage, randomBytes(5000));
    await unchanged(() => {
      const r = d.berth(['import', garbage, 'garbage:1']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('invalid layer tar');
      const l = d.docker(['load', '-i', garbage]);
      expect(l.code).toBe(1);
      expect(l.stderr).toContain('invalid archive');
    });
    expect(await ping(d.socket)).toBe(true);
  });

  // A tar cut short inside a file body once crashed the daemon (the entry stream's error had no listener).
  it('berth import of a truncated tar is refused and the daemon lives on', async () => {
    // Directories first (their entries take a while to apply), then a file cut short.
    const dirs = ['a/', 'a/b/', 'a/b/c/', 'a/b/c/d/'];
    const whole = await makeTar([...dirs.map((name): TarEntry => ({ header: { name, type: 'directory', mode: 0o755 } })), { header: { name: 'a/b/c/d/big.bin', mode: 0o644 }, body: randomBytes(5000) }]);
    const file = join(tmp, 'truncated.tar');
    await writeFile(file, whole.subarray(0, 5 * 512 + 540));
    try {
      await unchanged(async () => {
        const r = d.berth(['import', file, 'truncated:1']);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('invalid layer tar');
        expect(await ping(d.socket)).toBe(true);
      });
    } finally {
      if (!(await ping(d.socket))) await d.restart();
    }
  });

  describe('layers that try to escape the root', () => {
    const marker = `berth-escape-${randomBytes(6).toString('hex')}`;
    let target: string;

    beforeAll(async () => {
      target = join(tmp, 'outside');
      await mkdir(target);
    });

    /** Every directory a `../` chain from inside the daemon's root can reach, and the test dirs. */
    async function leaked(): Promise<string[]> {
      const found: string[] = [];
      for (let dir = d.root; ; dir = dirname(dir)) {
        if (existsSync(join(dir, marker))) found.push(join(dir, marker));
        if (dir === '/') break;
      }
      const walk = async (dir: string): Promise<void> => {
        for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
          if (e.name.includes(marker) || e.name === 'pwned') found.push(join(dir, e.name));
          if (e.isDirectory()) await walk(join(dir, e.name));
        }
      };
      await walk(dirname(d.root));
      await walk(tmp);
      return found;
    }

    async function importRefused(name: string, entries: TarEntry[], message: RegExp): Promise<void> {
      const file = join(tmp, `${name}.tar`);
      await writeFile(file, await makeTar(entries));
      await unchanged(() => {
        const r = d.berth(['import', file, `${name}:1`]);
        expect(r.code).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(message);
        // The same through the docker CLI.
        const dr = d.docker(['import', file, `${name}:2`]);
        expect(dr.code).toBe(1);
        expect(dr.stderr).toMatch(message);
      });
      expect(await leaked()).toEqual([]);
    }

    it('../ entries are refused', async () => {
      const ups = [1, 2, 3, 5, 12].map((n) => `${'../'.repeat(n)}${marker}`);
      for (const name of ups) {
        await importRefused('dotdot', [{ header: { name: 'ok.txt', mode: 0o644 }, body: 'fine' }, { header: { name, mode: 0o644 }, body: 'escaped' }], /escapes|outside|invalid/);
      }
      await importRefused('dotdot-mid', [{ header: { name: `a/../../${marker}`, mode: 0o644 }, body: 'escaped' }], /escapes|outside|invalid/);
    });

    it('a file written through a symlink that points outside is refused', async () => {
      await importRefused(
        'abs-link',
        [
          { header: { name: 'evil', type: 'symlink', linkname: target } },
          { header: { name: `evil/${marker}`, mode: 0o644 }, body: 'escaped' },
        ],
        /symlink/,
      );
      await importRefused(
        'rel-link',
        [
          { header: { name: 'etc/', type: 'directory', mode: 0o755 } },
          { header: { name: 'etc/evil', type: 'symlink', linkname: `${'../'.repeat(16)}${target.slice(1)}` } },
          { header: { name: `etc/evil/${marker}`, mode: 0o644 }, body: 'escaped' },
        ],
        /symlink/,
      );
      // A directory entry through the link, then a file in it.
      await importRefused(
        'dir-link',
        [
          { header: { name: 'evil', type: 'symlink', linkname: target } },
          { header: { name: `evil/${marker}/`, type: 'directory', mode: 0o755 } },
          { header: { name: `evil/${marker}/pwned`, mode: 0o644 }, body: 'escaped' },
        ],
        /symlink/,
      );
      expect(await readdir(target)).toEqual([]);
    });

    it('a hard link to a file outside the root is refused', async () => {
      const outside = join(target, 'host-file');
      await writeFile(outside, 'host secret\n');
      await importRefused('hardlink', [{ header: { name: `${marker}`, type: 'link', linkname: `${'../'.repeat(16)}${outside.slice(1)}` } }], /escapes/);
      await importRefused('hardlink-abs', [{ header: { name: `${marker}`, type: 'link', linkname: outside } }], /escapes|outside|invalid/);
      await rm(outside);
    });

    it('an absolute symlink is kept as a link, not followed: the image works', async () => {
      // Fine inside an image (resolved in the container's root), so this one is accepted.
      const file = join(tmp, 'abs-ok.tar');
      await writeFile(file, await makeTar([{ header: { name: 'target-link', type: 'symlink', linkname: target } }]));
      const r = d.berth(['import', file, 'abs-ok:1']);
      expect(r.code).toBe(0);
      expect(await leaked()).toEqual([]);
      expect(await readdir(target)).toEqual([]);
      expect(d.docker(['rmi', 'abs-ok:1']).code).toBe(0);
    });
  });
});
