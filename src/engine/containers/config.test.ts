import { describe, expect, it } from 'vitest';
import type { ImageConfig } from '../../core/oci.js';
import { entrypointAndArgs, mergeImageConfig } from './service.js';
import { CAPS_BY_NUMBER } from '../../sys/caps.js';
import { ALL_CAPS, buildSpec, resolveUser } from './spec.js';
import { emptyState, type ContainerRecord } from './types.js';

/** A container's command from the image's ENTRYPOINT/CMD and what the create request gives, as Docker merges them. */
describe('entrypoint and command', () => {
  const image = { architecture: 'amd64', os: 'linux', config: { Entrypoint: ['/entry.sh'], Cmd: ['serve', '--port', '80'] }, rootfs: { type: 'layers', diff_ids: [] } } as unknown as ImageConfig;
  const merged = (c: Record<string, unknown>) => {
    const m = mergeImageConfig({ Image: 'app', ...c }, image, 'a'.repeat(64));
    return { Entrypoint: m.Entrypoint, Cmd: m.Cmd, ...entrypointAndArgs(m) };
  };

  it("takes the image's when the request gives none", () => {
    expect(merged({})).toEqual({ Entrypoint: ['/entry.sh'], Cmd: ['serve', '--port', '80'], path: '/entry.sh', args: ['serve', '--port', '80'] });
  });

  it("keeps the image's entrypoint under a command given", () => {
    expect(merged({ Cmd: ['sh'] })).toMatchObject({ path: '/entry.sh', args: ['sh'] });
  });

  it("drops the image's command under an entrypoint given", () => {
    expect(merged({ Entrypoint: ['/bin/echo'] })).toEqual({ Entrypoint: ['/bin/echo'], Cmd: null, path: '/bin/echo', args: [] });
  });

  it('--entrypoint "" (sent as [""]) resets the entrypoint and runs the command given', () => {
    expect(merged({ Entrypoint: [''], Cmd: ['echo', 'hi'] })).toEqual({ Entrypoint: null, Cmd: ['echo', 'hi'], path: 'echo', args: ['hi'] });
    // with no command there is nothing to run: the create is refused ("no command specified")
    expect(merged({ Entrypoint: [''] })).toMatchObject({ Entrypoint: null, Cmd: null, path: '' });
  });

  it("an empty entrypoint list keeps the image's command but not its entrypoint", () => {
    expect(merged({ Entrypoint: [] })).toEqual({ Entrypoint: [], Cmd: ['serve', '--port', '80'], path: 'serve', args: ['--port', '80'] });
  });
});

/** The process's user and groups, as Docker resolves them against the image's files (checked against Docker Engine 20.10 with busybox). */
describe('user and groups', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n';
  const group = 'root:x:0:\nwheel:x:10:app,root\napp:x:1000:\ndocker:x:999:app\nnogroup:x:65534:\n';

  it('lists the primary group first, then the groups that name the user', () => {
    expect(resolveUser('', passwd, group)).toEqual({ uid: 0, gid: 0, additionalGids: [0, 10], home: '/root' });
    expect(resolveUser('nobody', passwd, group)).toMatchObject({ uid: 65534, gid: 65534, additionalGids: [65534] });
    expect(resolveUser('app', passwd, group)).toMatchObject({ uid: 1000, gid: 1000, additionalGids: [1000, 10, 999], home: '/home/app' });
    expect(resolveUser('1000', passwd, group)).toMatchObject({ uid: 1000, gid: 1000, additionalGids: [1000, 10, 999] });
  });

  it('a group given replaces the member groups; an unknown uid has only its group', () => {
    expect(resolveUser('app:wheel', passwd, group)).toMatchObject({ uid: 1000, gid: 10, additionalGids: [10] });
    expect(resolveUser('4242', passwd, group)).toMatchObject({ uid: 4242, gid: 0, additionalGids: [0] });
    expect(resolveUser('4242:77', passwd, group)).toMatchObject({ uid: 4242, gid: 77, additionalGids: [77] });
  });

  it('adds --group-add groups by name or number, each once', () => {
    expect(resolveUser('', passwd, group, ['123'])).toMatchObject({ additionalGids: [0, 10, 123] });
    expect(resolveUser('nobody', passwd, group, ['docker', '999', '5', '5'])).toMatchObject({ additionalGids: [65534, 999, 5] });
  });

  it("refuses what Docker refuses, in its words", () => {
    expect(() => resolveUser('', passwd, group, ['nosuch'])).toThrow('Unable to find group nosuch: no matching entries in group file');
    expect(() => resolveUser('', passwd, group, ['-1'])).toThrow('uids and gids must be in range 0-2147483647');
    expect(() => resolveUser('ghost', passwd, group)).toThrow('unable to find user ghost: no matching entries in passwd file');
    expect(() => resolveUser('app:ghosts', passwd, group)).toThrow('unable to find group ghosts: no matching entries in group file');
  });
});

/** `--privileged` and `--cap-add ALL` on a host whose bounding set lacks some capabilities (a sandbox, another container). */
describe('all capabilities', () => {
  it('--privileged and --cap-add ALL give what the daemon may hand on, where Docker asks runc for all and fails', () => {
    const record = (hostConfig: Record<string, unknown>) =>
      ({ id: 'c'.repeat(64), name: '/c', path: 'sh', args: [], config: { Hostname: 'c' }, hostConfig, state: emptyState() }) as unknown as ContainerRecord;
    const caps = (hostConfig: Record<string, unknown>, allCaps?: string[]) =>
      (buildSpec({ record: record(hostConfig), rootfs: '/r', user: { uid: 0, gid: 0, additionalGids: [0] }, extraMounts: [], cgroupParent: '/berth', ...(allCaps ? { allCaps } : {}) }).process as { capabilities: { bounding: string[] } }).capabilities.bounding;
    const sandbox = CAPS_BY_NUMBER.filter((c) => c !== 'CAP_SYS_RESOURCE');
    expect(caps({ Privileged: true })).toEqual(ALL_CAPS);
    expect(caps({ Privileged: true }, sandbox)).toEqual(ALL_CAPS.filter((c) => c !== 'CAP_SYS_RESOURCE'));
    expect(caps({ CapAdd: ['ALL'] }, sandbox)).not.toContain('CAP_SYS_RESOURCE');
    expect(caps({ CapAdd: ['ALL'], CapDrop: ['NET_RAW'] }, sandbox)).not.toContain('CAP_NET_RAW');
    // Asked for by name, it is asked of the runtime (whose error then says why).
    expect(caps({ CapAdd: ['SYS_RESOURCE'] }, sandbox)).toContain('CAP_SYS_RESOURCE');
  });
});
