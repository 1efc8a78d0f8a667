import { describe, expect, it } from 'vitest';
import { checkCpuset, checkModes, checkResourceRanges, defaultModes, ipcMode, parseCpuList, parseDeviceCgroupRule, pidMode } from './modes.js';
import { buildSpec, type OciMount, type SpecInput } from './spec.js';
import { emptyState, type ContainerRecord, type HostConfig } from './types.js';

describe('namespace modes', () => {
  it("reads Docker's values", () => {
    expect(pidMode('')).toEqual({ kind: 'private' });
    expect(pidMode('host')).toEqual({ kind: 'host' });
    expect(pidMode('container:db')).toEqual({ kind: 'container', target: 'db' });
    expect(ipcMode(undefined)).toEqual({ kind: 'private' });
    for (const k of ['private', 'shareable', 'host', 'none'] as const) expect(ipcMode(k)).toEqual({ kind: k });
    expect(ipcMode('container:abc')).toEqual({ kind: 'container', target: 'abc' });
    const hc: HostConfig = {};
    defaultModes(hc);
    expect(hc).toEqual({ IpcMode: 'private', CgroupnsMode: 'host' });
  });

  it("refuses the others in Docker's words", () => {
    const bad = (hc: HostConfig) => () => checkModes(hc);
    expect(bad({ PidMode: 'nope' })).toThrow('invalid PID mode: nope');
    expect(bad({ PidMode: 'container:' })).toThrow('invalid PID mode: container:');
    expect(bad({ IpcMode: 'nope' })).toThrow('Invalid IPC mode: nope');
    expect(bad({ UTSMode: 'container:x' })).toThrow('invalid UTS mode: container:x');
    expect(bad({ CgroupnsMode: 'shared' })).toThrow('invalid cgroup namespace mode: shared');
    expect(bad({ UsernsMode: 'private' })).toThrow(/^invalid USER mode: private \(berth runs containers without user namespace remapping/);
    expect(bad({ UsernsMode: 'host', UTSMode: 'host', PidMode: 'host', IpcMode: 'host', CgroupnsMode: 'private' })).not.toThrow();
  });

  it('reads device cgroup rules', () => {
    expect(parseDeviceCgroupRule('c 10:229 rwm')).toEqual({ allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' });
    expect(parseDeviceCgroupRule('b *:* m')).toEqual({ allow: true, type: 'b', access: 'm' });
    expect(parseDeviceCgroupRule('a')).toEqual({ allow: true, type: 'a', access: 'rwm' });
    expect(() => parseDeviceCgroupRule('x 1:2 r')).toThrow("invalid device cgroup format 'x 1:2 r'");
    expect(() => parseDeviceCgroupRule('c 1:2 rx')).toThrow("invalid device cgroup format 'c 1:2 rx'");
  });
});

describe('the spec for namespace modes, devices and limits', () => {
  const record = (hostConfig: HostConfig, config: Record<string, unknown> = {}) =>
    ({ id: 'c'.repeat(64), name: '/c', path: 'sh', args: [], config: { Hostname: 'cccccccccccc', ...config }, hostConfig, state: emptyState() }) as unknown as ContainerRecord;
  const spec = (hostConfig: HostConfig, extra: Partial<SpecInput> = {}, config: Record<string, unknown> = {}) =>
    buildSpec({ record: record(hostConfig, config), rootfs: '/r', user: { uid: 0, gid: 0, additionalGids: [] }, extraMounts: [], cgroupParent: '/berth', platform: { arch: 'amd64', kernel: '6.1' }, ...extra });
  const namespaces = (s: ReturnType<typeof spec>) => s.linux.namespaces as { type: string; path?: string }[];
  const shm = (s: ReturnType<typeof spec>) => s.mounts.find((m) => m.destination === '/dev/shm');

  it('has namespaces of its own by default, and the sysctls Docker sets in its network namespace', () => {
    const s = spec({});
    expect(namespaces(s).map((n) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    expect(s.linux.sysctl).toEqual({ 'net.ipv4.ip_unprivileged_port_start': '0', 'net.ipv4.ping_group_range': '0 2147483647' });
    expect(shm(s)).toMatchObject({ type: 'tmpfs', options: expect.arrayContaining(['size=67108864']) as unknown });
    expect(s.process.oomScoreAdj).toBe(0);
    expect(s.linux.cgroupsPath).toBe(`/berth/${'c'.repeat(64)}`);
    expect(s.hostname).toBe('cccccccccccc');
  });

  it("leaves the sysctls out in the host's or another container's network namespace; the container's own win", () => {
    expect(spec({}, { hostNetwork: true }).linux.sysctl).toEqual({});
    expect(spec({}, { netnsPath: '/proc/1/ns/net', sharedNetns: true }).linux.sysctl).toEqual({});
    expect(spec({ Sysctls: { 'net.ipv4.ip_unprivileged_port_start': '1024' } }).linux.sysctl).toMatchObject({ 'net.ipv4.ip_unprivileged_port_start': '1024' });
  });

  it('sets --domainname through kernel.domainname, as Docker does, in a UTS namespace of its own only', () => {
    expect(spec({}, {}, { Domainname: 'example.org' }).linux.sysctl).toMatchObject({ 'kernel.domainname': 'example.org' });
    expect(spec({}, {}, { Domainname: 'example.org' })).not.toHaveProperty('domainname');
    expect(spec({ UTSMode: 'host' }, {}, { Domainname: 'example.org' }).linux.sysctl).not.toHaveProperty(['kernel.domainname']);
    expect(spec({ Sysctls: { 'kernel.domainname': 'mine' } }, {}, { Domainname: 'example.org' }).linux.sysctl).toMatchObject({ 'kernel.domainname': 'mine' });
    expect(spec({}).linux.sysctl).not.toHaveProperty(['kernel.domainname']);
  });

  it("joins the host's namespaces or another container's", () => {
    const host = spec({ PidMode: 'host', IpcMode: 'host', UTSMode: 'host' });
    expect(namespaces(host).map((n) => n.type).sort()).toEqual(['mount', 'network']);
    expect(host.hostname).toBe('');
    expect(shm(host)).toEqual({ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
    const joined = spec({ PidMode: 'container:a', IpcMode: 'container:b' }, { joinNamespaces: { pid: '/proc/7/ns/pid', ipc: '/proc/8/ns/ipc' }, shmSource: '/run/berth/etc/b/shm' });
    expect(namespaces(joined)).toEqual(expect.arrayContaining([{ type: 'pid', path: '/proc/7/ns/pid' }, { type: 'ipc', path: '/proc/8/ns/ipc' }]));
    expect(shm(joined)?.source).toBe('/run/berth/etc/b/shm');
    expect(() => spec({ PidMode: 'container:a' })).toThrow('no pid namespace to join for container:a');
  });

  it('has no /dev/shm for --ipc none, and a cgroup namespace for --cgroupns private', () => {
    expect(shm(spec({ IpcMode: 'none' }))).toBeUndefined();
    expect(namespaces(spec({ IpcMode: 'none' })).map((n) => n.type)).toContain('ipc');
    expect(namespaces(spec({ CgroupnsMode: 'private' })).map((n) => n.type)).toContain('cgroup');
    expect(namespaces(spec({ CgroupnsMode: 'host' })).map((n) => n.type)).not.toContain('cgroup');
  });

  it('makes the devices asked for, allows them in the cgroup with their access, and adds the rules given', () => {
    const fuse = { path: '/dev/f2', type: 'c' as const, major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0 };
    const s = spec({ DeviceCgroupRules: ['b 7:* rw'] }, { devices: [{ device: fuse, access: 'r' }] });
    expect(s.linux.devices).toEqual([fuse]);
    const rules = (s.linux.resources as { devices: unknown[] }).devices;
    expect(rules).toContainEqual({ allow: true, type: 'c', major: 10, minor: 229, access: 'r' });
    expect(rules.at(-1)).toEqual({ allow: true, type: 'b', major: 7, access: 'rw' });
    // --privileged: every device is allowed already; the nodes are still made.
    const p = spec({ Privileged: true }, { devices: [{ device: fuse, access: 'rwm' }] });
    expect((p.linux.resources as { devices: unknown[] }).devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(p.linux.devices).toEqual([fuse]);
  });

  it('takes --oom-score-adj, --oom-kill-disable, --cpuset-mems and --cgroup-parent', () => {
    const s = spec({ OomScoreAdj: 500, OomKillDisable: true, Memory: 64 * 1024 * 1024, CpusetMems: '0', CgroupParent: '/mygroup' });
    expect(s.process.oomScoreAdj).toBe(500);
    expect(s.linux.resources).toMatchObject({ memory: { limit: 64 * 1024 * 1024, disableOOMKiller: true }, cpu: { mems: '0' } });
    expect(s.linux.cgroupsPath).toBe(`/mygroup/${'c'.repeat(64)}`);
  });

  it('binds a shareable container its own /dev/shm kept on the host', () => {
    expect(shm(spec({ IpcMode: 'shareable' }, { shmSource: '/run/berth/etc/c/shm' }))).toEqual({ destination: '/dev/shm', type: 'bind', source: '/run/berth/etc/c/shm', options: ['rbind', 'rprivate'] } satisfies OciMount);
    expect(() => spec({ IpcMode: 'shareable' })).toThrow('no /dev/shm to share for IPC mode shareable');
  });
});

describe('limits Docker checks against the host', () => {
  it('reads cpuset lists', () => {
    expect([...(parseCpuList('0-2,5') ?? [])]).toEqual([0, 1, 2, 5]);
    expect(parseCpuList('')?.size).toBe(0);
    expect(parseCpuList('1-a')).toBeUndefined();
    expect(parseCpuList('3-1')).toBeUndefined();
  });

  it('refuses CPUs and memory nodes the host does not have, in Docker\'s words', () => {
    expect(() => checkCpuset('0-1', '0-1', 'cpus')).not.toThrow();
    expect(() => checkCpuset(undefined, '0-1', 'cpus')).not.toThrow();
    expect(() => checkCpuset('99', '0-1', 'cpus')).toThrow('Requested CPUs are not available - requested 99, available: 0-1');
    expect(() => checkCpuset('1', '0', 'mems')).toThrow('Requested memory nodes are not available - requested 1, available: 0');
    expect(() => checkCpuset('0-x', '0-1', 'cpus')).toThrow('Invalid value 0-x for cpuset cpus: invalid format: 0-x');
  });

  it('refuses more CPUs than the host has and OOM score adjustments out of range', () => {
    expect(() => checkResourceRanges({ NanoCpus: 2e9 }, 2)).not.toThrow();
    expect(() => checkResourceRanges({ NanoCpus: 3e9 }, 2)).toThrow('Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available');
    expect(() => checkResourceRanges({ OomScoreAdj: -1000 }, 2)).not.toThrow();
    expect(() => checkResourceRanges({ OomScoreAdj: 2000 }, 2)).toThrow('Invalid value 2000, range for oom score adj is [-1000, 1000]');
  });
});
