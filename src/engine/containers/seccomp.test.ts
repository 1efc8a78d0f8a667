import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_SECCOMP_PROFILE, kernelAtLeast, parseSecurityOpts, parseSeccompProfile, resolveSeccomp, type OciSeccomp, type SeccompProfile } from './seccomp.js';
import { DEFAULT_CAPS, buildSpec } from './spec.js';
import { emptyState, type ContainerRecord } from './types.js';

const GOLDEN = join(import.meta.dirname, '../../../test/golden/seccomp');

/** Compares with test/golden/seccomp/<name>; `UPDATE_GOLDEN=1` rewrites the file instead. */
async function golden(name: string, value: unknown): Promise<void> {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  const path = join(GOLDEN, name);
  if (process.env['UPDATE_GOLDEN'] === '1') await writeFile(path, text);
  expect(text).toBe(await readFile(path, 'utf8'));
}

const amd64 = { arch: 'amd64', kernel: '6.1.0-13-amd64' };
/** Every syscall a filter lets through with no argument condition, by action. */
const plain = (s: OciSeccomp, action = 'SCMP_ACT_ALLOW') => new Set(s.syscalls.filter((r) => r.action === action && r.args === undefined).flatMap((r) => r.names));

describe('the built-in profile', () => {
  it("resolves for Docker's default capabilities on amd64 (golden)", async () => {
    const s = resolveSeccomp(BUILTIN_SECCOMP_PROFILE, { ...amd64, caps: DEFAULT_CAPS });
    await golden('builtin-amd64-default-caps.json', s);
    expect(s.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(s.defaultErrnoRet).toBe(1);
    expect(s.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    const allowed = plain(s);
    for (const n of ['read', 'execve', 'clone' /* absent: only with a flags condition */, 'mount', 'unshare', 'setns', 'keyctl', 'bpf', 'reboot', 'ptrace', 'kexec_load']) {
      expect(allowed.has(n), n).toBe(['read', 'execve', 'ptrace'].includes(n));
    }
    // chroot comes with CAP_SYS_CHROOT, which Docker's default set has; arch_prctl on amd64 only.
    expect(allowed.has('chroot')).toBe(true);
    expect(allowed.has('arch_prctl')).toBe(true);
    expect(allowed.has('set_tls')).toBe(false);
    // clone without namespace flags; clone3 answers ENOSYS.
    expect(s.syscalls.filter((r) => r.names.includes('clone'))).toEqual([
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, op: 'SCMP_CMP_MASKED_EQ' }] },
    ]);
    expect(s.syscalls.filter((r) => r.names.includes('clone3'))).toEqual([{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
  });

  it('gives back what a capability added allows, and drops the namespace conditions with CAP_SYS_ADMIN', () => {
    const s = resolveSeccomp(BUILTIN_SECCOMP_PROFILE, { ...amd64, caps: [...DEFAULT_CAPS, 'CAP_SYS_ADMIN', 'CAP_SYS_TIME'] });
    const allowed = plain(s);
    for (const n of ['mount', 'umount2', 'unshare', 'setns', 'clone', 'clone3', 'sethostname', 'settimeofday']) expect(allowed.has(n), n).toBe(true);
    expect(s.syscalls.some((r) => r.action === 'SCMP_ACT_ERRNO')).toBe(false);
    expect(s.syscalls.some((r) => r.names.includes('clone') && r.args !== undefined)).toBe(false);
    // Dropping CAP_SYS_CHROOT takes chroot away.
    const noChroot = resolveSeccomp(BUILTIN_SECCOMP_PROFILE, { ...amd64, caps: DEFAULT_CAPS.filter((c) => c !== 'CAP_SYS_CHROOT') });
    expect(plain(noChroot).has('chroot')).toBe(false);
  });

  it('takes the architectures of the host: arm64 gets its own calls and 32-bit arm', () => {
    const s = resolveSeccomp(BUILTIN_SECCOMP_PROFILE, { arch: 'arm64', kernel: '6.1', caps: DEFAULT_CAPS });
    expect(s.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    expect(plain(s).has('set_tls')).toBe(true);
    expect(plain(s).has('arch_prctl')).toBe(false);
    const s390 = resolveSeccomp(BUILTIN_SECCOMP_PROFILE, { arch: 's390x', kernel: '6.1', caps: DEFAULT_CAPS });
    expect(s390.syscalls.filter((r) => r.names.includes('clone')).map((r) => r.args?.[0]?.index)).toEqual([1]);
  });

  it('allows ptrace of its own processes from kernel 4.8 on only', () => {
    expect(plain(resolveSeccomp(BUILTIN_SECCOMP_PROFILE, { arch: 'amd64', kernel: '4.4.0-210-generic', caps: DEFAULT_CAPS })).has('ptrace')).toBe(false);
    expect(plain(resolveSeccomp(BUILTIN_SECCOMP_PROFILE, { arch: 'amd64', kernel: '4.8.0', caps: DEFAULT_CAPS })).has('ptrace')).toBe(true);
  });
});

describe('profiles in Docker format', () => {
  it('reads name or names, includes (all caps) and excludes (any cap), arches and minKernel', () => {
    const p = parseSeccompProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64'],
        syscalls: [
          { name: 'mkdir', action: 'SCMP_ACT_ERRNO' },
          { names: ['a'], action: 'SCMP_ACT_LOG', includes: { caps: ['CAP_A', 'CAP_B'] } },
          { names: ['b'], action: 'SCMP_ACT_LOG', excludes: { caps: ['CAP_A', 'CAP_C'] } },
          { names: ['c'], action: 'SCMP_ACT_LOG', includes: { arches: ['arm64'] } },
          { names: ['d'], action: 'SCMP_ACT_LOG', excludes: { minKernel: '5.10' } },
          { names: ['e'], action: 'SCMP_ACT_LOG', includes: { minKernel: null }, args: null },
        ],
      }),
    );
    const names = (caps: string[], kernel = '5.4') => resolveSeccomp(p, { arch: 'amd64', kernel, caps }).syscalls.map((r) => r.names.join());
    expect(names(['CAP_A'])).toEqual(['mkdir', 'd', 'e']);
    expect(names(['CAP_A', 'CAP_B'])).toEqual(['mkdir', 'a', 'd', 'e']);
    expect(names([])).toEqual(['mkdir', 'b', 'd', 'e']);
    expect(names([], '5.10.1')).toEqual(['mkdir', 'b', 'e']);
    expect(resolveSeccomp(p, { arch: 'amd64', kernel: '5.4', caps: [] }).architectures).toEqual(['SCMP_ARCH_X86_64']);
  });

  it('refuses what cannot be a filter, naming the field', () => {
    const bad = (p: unknown) => () => resolveSeccomp(parseSeccompProfile(JSON.stringify(p)), { ...amd64, caps: [] });
    expect(() => parseSeccompProfile('{"defaultAction": ')).toThrow(/^decoding seccomp profile failed: /);
    expect(bad([])).toThrow('decoding seccomp profile failed: the profile is not a JSON object');
    expect(bad({})).toThrow('defaultAction: unknown action undefined');
    expect(bad({ defaultAction: 'SCMP_ACT_NOPE' })).toThrow('defaultAction: unknown action "SCMP_ACT_NOPE"');
    expect(bad({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'] }] })).toThrow('syscalls[0].action: unknown action undefined');
    expect(bad({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: 'x', action: 'SCMP_ACT_LOG' }] })).toThrow('syscalls[0].names must be a list of strings');
    expect(bad({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_LOG', args: [{ index: 0, value: 1, op: 'EQ' }] }] })).toThrow('syscalls[0].args[0].op: unknown operator "EQ"');
    expect(bad({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_LOG', includes: { minKernel: 'new' } }] })).toThrow('syscalls[0].includes.minKernel must be a kernel version like "4.8"');
    expect(bad({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'x', names: ['y'], action: 'SCMP_ACT_LOG' }] })).toThrow("syscalls[0]: 'name' and 'names' were specified");
    expect(bad({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: [] }] })).toThrow("both 'architectures' and 'archMap'");
  });

  it('compares kernel releases as numbers', () => {
    expect(kernelAtLeast('6.18.44-fc-v595', '4.8')).toBe(true);
    expect(kernelAtLeast('4.10.0', '4.8')).toBe(true);
    expect(kernelAtLeast('4.7.10', '4.8')).toBe(false);
    expect(kernelAtLeast('5.10', '5.10.1')).toBe(false);
  });
});

describe('--security-opt', () => {
  it("reads Docker's forms", () => {
    expect(parseSecurityOpts([])).toEqual({ noNewPrivileges: false, writableCgroups: false });
    expect(parseSecurityOpts(['seccomp=unconfined', 'no-new-privileges'])).toEqual({ seccomp: 'unconfined', noNewPrivileges: true, writableCgroups: false });
    expect(parseSecurityOpts(['seccomp:unconfined', 'no-new-privileges:true', 'writable-cgroups=true'])).toEqual({ seccomp: 'unconfined', noNewPrivileges: true, writableCgroups: true });
    expect(parseSecurityOpts(['no-new-privileges=false', 'apparmor=unconfined', 'label=disable']).noNewPrivileges).toBe(false);
    expect(parseSecurityOpts(['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']).seccomp).toBe('{"defaultAction":"SCMP_ACT_ALLOW"}');
  });

  it("refuses the others in Docker's words", () => {
    expect(() => parseSecurityOpts(['nonsense'])).toThrow('invalid --security-opt 1: "nonsense"');
    expect(() => parseSecurityOpts(['foo=bar'])).toThrow('invalid --security-opt 2: "foo=bar"');
    expect(() => parseSecurityOpts(['no-new-privileges=maybe'])).toThrow('invalid --security-opt 2: "no-new-privileges=maybe"');
    expect(() => parseSecurityOpts(['seccomp='])).toThrow('invalid --security-opt 2: "seccomp="');
  });
});

describe('the spec', () => {
  const record = (hostConfig: Record<string, unknown>) =>
    ({ id: 'c'.repeat(64), name: '/c', path: 'sh', args: [], config: { Hostname: 'c' }, hostConfig, state: emptyState() }) as unknown as ContainerRecord;
  const linux = (hostConfig: Record<string, unknown>, extra: { defaultSeccomp?: 'unconfined' | SeccompProfile; kernelX32?: boolean } = {}) =>
    buildSpec({ record: record(hostConfig), rootfs: '/r', user: { uid: 0, gid: 0, additionalGids: [] }, extraMounts: [], cgroupParent: '/berth', platform: amd64, ...extra }).linux as {
      seccomp?: OciSeccomp;
      maskedPaths?: string[];
      readonlyPaths?: string[];
    };

  it('has the built-in filter for the capabilities the container ends up with', () => {
    expect(linux({}).seccomp).toEqual(resolveSeccomp(BUILTIN_SECCOMP_PROFILE, { ...amd64, caps: DEFAULT_CAPS }));
    expect(plain(linux({ CapAdd: ['SYS_ADMIN'] }).seccomp as OciSeccomp).has('mount')).toBe(true);
    expect(plain(linux({ CapDrop: ['SYS_CHROOT'] }).seccomp as OciSeccomp).has('chroot')).toBe(false);
    expect(linux({ SecurityOpt: ['seccomp=builtin'] }, { defaultSeccomp: 'unconfined' }).seccomp).toEqual(linux({}).seccomp);
  });

  it('has none when privileged, unconfined or the daemon says so; a profile given is used', () => {
    expect(linux({ Privileged: true }).seccomp).toBeUndefined();
    expect(linux({ Privileged: true, SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}'] }).seccomp).toBeUndefined();
    expect(linux({ SecurityOpt: ['seccomp=unconfined'] }).seccomp).toBeUndefined();
    expect(linux({}, { defaultSeccomp: 'unconfined' }).seccomp).toBeUndefined();
    const own = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] };
    expect(linux({ SecurityOpt: [`seccomp=${JSON.stringify(own)}`] }).seccomp).toEqual({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: own.syscalls });
  });

  it('leaves x32 out of the built-in filter where the kernel runs no x32 system calls; a profile given is kept whole', () => {
    const whole = linux({}).seccomp as OciSeccomp;
    expect(whole.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    expect(linux({}, { kernelX32: true }).seccomp).toEqual(whole);
    const trimmed = linux({}, { kernelX32: false }).seccomp as OciSeccomp;
    expect(trimmed).toEqual({ ...whole, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'] });
    expect(linux({ SecurityOpt: ['seccomp=builtin'] }, { kernelX32: false }).seccomp).toEqual(trimmed);
    const file = JSON.parse(JSON.stringify(BUILTIN_SECCOMP_PROFILE)) as SeccompProfile;
    expect(linux({ SecurityOpt: [`seccomp=${JSON.stringify(file)}`] }, { kernelX32: false }).seccomp).toEqual(whole);
    expect(linux({}, { kernelX32: false, defaultSeccomp: file }).seccomp).toEqual(whole);
  });

  it('masks the paths the container record names; empty lists (systempaths=unconfined) mask none', () => {
    expect(linux({}).maskedPaths).toContain('/proc/kcore');
    expect(linux({ MaskedPaths: ['/proc/x'], ReadonlyPaths: [] })).toMatchObject({ maskedPaths: ['/proc/x'], readonlyPaths: [] });
  });
});
