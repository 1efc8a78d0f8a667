import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diffChanges } from './index.js';
import { IS_ROOT, tempDir } from './test-helpers.js';
import { mknod } from './whiteouts.js';

let base: string;
beforeEach(async () => {
  base = await tempDir();
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function files(root: string, paths: string[]): Promise<void> {
  for (const p of paths) {
    if (p.endsWith('/')) await mkdir(join(root, p), { recursive: true });
    else {
      await mkdir(join(root, p, '..'), { recursive: true });
      await writeFile(join(root, p), p);
    }
  }
}

describe('diffChanges', () => {
  it('reports added and modified entries, parents as modified when they exist below', async () => {
    const lower = join(base, 'lower');
    const upper = join(base, 'upper');
    await files(lower, ['etc/passwd', 'etc/hosts', 'usr/bin/ls', 'var/']);
    await files(upper, ['etc/passwd', 'etc/newconf', 'usr/local/bin/tool', 'opt/app/run', 'var/log/x']);
    expect(await diffChanges(upper, [lower])).toEqual([
      { Path: '/etc', Kind: 0 },
      { Path: '/etc/newconf', Kind: 1 },
      { Path: '/etc/passwd', Kind: 0 },
      { Path: '/opt', Kind: 1 },
      { Path: '/opt/app', Kind: 1 },
      { Path: '/opt/app/run', Kind: 1 },
      { Path: '/usr', Kind: 0 },
      { Path: '/usr/local', Kind: 1 },
      { Path: '/usr/local/bin', Kind: 1 },
      { Path: '/usr/local/bin/tool', Kind: 1 },
      { Path: '/var', Kind: 0 },
      { Path: '/var/log', Kind: 1 },
      { Path: '/var/log/x', Kind: 1 },
    ]);
  });

  it('looks in every lower dir, and an empty upper has no changes', async () => {
    const l1 = join(base, 'l1');
    const l2 = join(base, 'l2');
    const upper = join(base, 'upper');
    await files(l1, ['a/one']);
    await files(l2, ['a/two', 'b/']);
    await files(upper, ['a/one', 'a/two', 'a/three']);
    expect(await diffChanges(upper, [l2, l1])).toEqual([
      { Path: '/a', Kind: 0 },
      { Path: '/a/one', Kind: 0 },
      { Path: '/a/three', Kind: 1 },
      { Path: '/a/two', Kind: 0 },
    ]);
    await mkdir(join(base, 'empty'));
    expect(await diffChanges(join(base, 'empty'), [l1])).toEqual([]);
  });

  it('never looks up lower paths through symlinks', async () => {
    const lower = join(base, 'lower');
    const upper = join(base, 'upper');
    const host = join(base, 'host');
    await files(host, ['secret']);
    await mkdir(lower);
    await symlink(host, join(lower, 'link'));
    await files(upper, ['link/secret']);
    // In the lower, "link" is a symlink: "link/secret" does not exist there.
    expect(await diffChanges(upper, [lower])).toEqual([
      { Path: '/link', Kind: 0 },
      { Path: '/link/secret', Kind: 1 },
    ]);
  });

  it.skipIf(!IS_ROOT)('reports whiteouts as deleted; a whiteout in a higher lower hides the ones below', async () => {
    const l1 = join(base, 'l1');
    const l2 = join(base, 'l2');
    const upper = join(base, 'upper');
    await files(l1, ['etc/motd', 'etc/issue', 'srv/data']);
    await mkdir(join(l2, 'etc'), { recursive: true });
    await mknod(join(l2, 'etc/issue'), 'c', 0, 0);
    await files(upper, ['etc/', 'srv/']);
    await mknod(join(upper, 'etc/motd'), 'c', 0, 0);
    await mknod(join(upper, 'srv/data'), 'c', 0, 0);
    await writeFile(join(upper, 'etc/issue'), 'back again');
    expect(await diffChanges(upper, [l2, l1])).toEqual([
      { Path: '/etc', Kind: 0 },
      { Path: '/etc/issue', Kind: 1 },
      { Path: '/etc/motd', Kind: 2 },
      { Path: '/srv', Kind: 0 },
      { Path: '/srv/data', Kind: 2 },
    ]);
  });
});
