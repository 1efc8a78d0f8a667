import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTar } from '../../src/engine/layers/test-helpers.js';
import { loadBusybox, rootSkipReason, rootTestsEnabled, startDaemon, type TestDaemon } from '../harness.js';

/**
 * An image's symlinks are resolved inside its root when berth itself touches the image's files
 * at start (working dir, /etc/passwd for -u) — never on the host.
 */
describe.skipIf(!rootTestsEnabled())(`image symlinks stay in the container (${rootSkipReason})`, () => {
  let d: TestDaemon;
  let host: string;

  beforeAll(async () => {
    d = await startDaemon();
    loadBusybox(d);
    host = mkdtempSync(join(tmpdir(), 'berth-symlink-host-'));
    writeFileSync(join(host, 'passwd'), 'intruder:x:4242:4242::/:/bin/sh\n');
    // A layer on top of busybox: /app points at a host directory, /etc/passwd at a host file.
    const layer = join(host, 'layer.tar');
    writeFileSync(
      layer,
      await makeTar([
        { header: { name: 'app', type: 'symlink', linkname: host } },
        { header: { name: 'etc/', type: 'directory', mode: 0o755 } },
        { header: { name: 'etc/passwd', type: 'symlink', linkname: join(host, 'passwd') } },
      ]),
    );
    const ctr = d.docker(['create', '--name', 'base', 'busybox', 'true']);
    expect(ctr.code).toBe(0);
    // Put the symlinks into an image: copy the tar in as its content, then commit.
    expect(d.docker(['cp', '-', 'base:/'], { input: await import('node:fs').then((fs) => fs.readFileSync(layer)) }).code).toBe(0);
    expect(d.docker(['commit', 'base', 'links:1']).code).toBe(0);
  });
  afterAll(async () => {
    await d?.stop();
    rmSync(host, { recursive: true, force: true });
  });

  it('-w through a symlink to a host path makes the directory in the container, not on the host', () => {
    const r = d.docker(['run', '--rm', '-w', '/app/made-by-workdir', 'links:1', 'pwd']);
    expect(existsSync(join(host, 'made-by-workdir'))).toBe(false);
    // In the container the link resolves inside its own root, where the working dir was made.
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(join(host, 'made-by-workdir'));
  });

  it('-u reads the container’s /etc/passwd, not a host file a symlink names', () => {
    const r = d.docker(['run', '--rm', '-u', 'intruder', 'links:1', 'id', '-u']);
    expect(r.stdout.trim()).not.toBe('4242');
  });
});
