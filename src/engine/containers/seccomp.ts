import { InvalidArgument } from '../../core/errors.js';

/**
 * Seccomp for containers, as Docker applies it: every container that is not `--privileged`
 * and not `--security-opt seccomp=unconfined` runs under a syscall allowlist, the built-in
 * one unless `--security-opt seccomp=<profile JSON>` gives another. Profiles are in Docker's
 * format (conditions on the architecture, the container's capabilities and the kernel);
 * `resolveSeccomp` turns one into the OCI runtime spec's `linux.seccomp` for one container.
 * Pure: the architecture, capabilities and kernel release come in as arguments.
 */

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface SeccompCondition {
  /** Go architecture names (`amd64`, `arm64`, ...), as Docker's profiles write them. */
  arches?: string[];
  /** Capabilities (`CAP_SYS_ADMIN`): includes needs all of them, excludes any. */
  caps?: string[];
  /** A kernel release (`4.8`): includes needs at least it, excludes less than it. */
  minKernel?: string | null;
}

export interface SeccompRule {
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[] | null;
  comment?: string;
  includes?: SeccompCondition;
  excludes?: SeccompCondition;
}

export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[] | null;
  archMap?: { architecture: string; subArchitectures: string[] | null }[] | null;
  syscalls?: SeccompRule[] | null;
  flags?: string[] | null;
  listenerPath?: string;
  listenerMetadata?: string;
}

/** `linux.seccomp` of the OCI runtime spec. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls: { names: string[]; action: string; errnoRet?: number; args?: SeccompArg[] }[];
}

const EPERM = 1;
const ENOSYS = 38;
/** CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET. */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;
const AF_VSOCK = 40;
/** personality(2) values a container may set: PER_LINUX, PER_LINUX32, UNAME26, both, and the query. */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/**
 * Syscalls every container may make: files, memory, processes and signals within its own
 * namespaces, sockets, timers, IPC. Left out: what reaches outside a container (mount and
 * namespace changes, modules, the clock, kexec, keyrings, BPF, perf, swap, reboot, ...),
 * which the capability table below allows back to a container given the capability.
 */
const BASE_SYSCALLS: readonly string[] = [
  'accept', 'accept4', 'access', 'adjtimex', 'alarm', 'bind', 'brk', 'capget', 'capset', 'chdir',
  'chmod', 'chown', 'chown32', 'clock_adjtime', 'clock_adjtime64', 'clock_getres', 'clock_getres_time64',
  'clock_gettime', 'clock_gettime64', 'clock_nanosleep', 'clock_nanosleep_time64', 'close', 'close_range',
  'connect', 'copy_file_range', 'creat', 'dup', 'dup2', 'dup3',
  'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_pwait', 'epoll_pwait2', 'epoll_wait', 'epoll_wait_old',
  'eventfd', 'eventfd2', 'execve', 'execveat', 'exit', 'exit_group',
  'faccessat', 'faccessat2', 'fadvise64', 'fadvise64_64', 'fallocate', 'fanotify_mark', 'fchdir', 'fchmod', 'fchmodat',
  'fchown', 'fchown32', 'fchownat', 'fcntl', 'fcntl64', 'fdatasync', 'fgetxattr', 'flistxattr', 'flock', 'fork',
  'fremovexattr', 'fsetxattr', 'fstat', 'fstat64', 'fstatat64', 'fstatfs', 'fstatfs64', 'fsync', 'ftruncate', 'ftruncate64',
  'futex', 'futex_time64', 'futex_waitv', 'futimesat',
  'getcpu', 'getcwd', 'getdents', 'getdents64', 'getegid', 'getegid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32',
  'getgroups', 'getgroups32', 'getitimer', 'getpeername', 'getpgid', 'getpgrp', 'getpid', 'getppid', 'getpriority',
  'getrandom', 'getresgid', 'getresgid32', 'getresuid', 'getresuid32', 'getrlimit', 'get_robust_list', 'getrusage',
  'getsid', 'getsockname', 'getsockopt', 'get_thread_area', 'gettid', 'gettimeofday', 'getuid', 'getuid32', 'getxattr',
  'inotify_add_watch', 'inotify_init', 'inotify_init1', 'inotify_rm_watch',
  'io_cancel', 'ioctl', 'io_destroy', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64', 'ioprio_get', 'ioprio_set',
  'io_setup', 'io_submit', 'io_uring_enter', 'io_uring_register', 'io_uring_setup', 'ipc', 'kill',
  'landlock_add_rule', 'landlock_create_ruleset', 'landlock_restrict_self',
  'lchown', 'lchown32', 'lgetxattr', 'link', 'linkat', 'listen', 'listxattr', 'llistxattr', '_llseek', 'lremovexattr',
  'lseek', 'lsetxattr', 'lstat', 'lstat64', 'madvise', 'membarrier', 'memfd_create', 'memfd_secret', 'mincore',
  'mkdir', 'mkdirat', 'mknod', 'mknodat', 'mlock', 'mlock2', 'mlockall', 'mmap', 'mmap2', 'mprotect',
  'mq_getsetattr', 'mq_notify', 'mq_open', 'mq_timedreceive', 'mq_timedreceive_time64', 'mq_timedsend',
  'mq_timedsend_time64', 'mq_unlink', 'mremap', 'msgctl', 'msgget', 'msgrcv', 'msgsnd', 'msync', 'munlock',
  'munlockall', 'munmap', 'name_to_handle_at', 'nanosleep', 'newfstatat', '_newselect', 'open', 'openat', 'openat2',
  'pause', 'pidfd_open', 'pidfd_send_signal', 'pipe', 'pipe2', 'pkey_alloc', 'pkey_free', 'pkey_mprotect',
  'poll', 'ppoll', 'ppoll_time64', 'prctl', 'pread64', 'preadv', 'preadv2', 'prlimit64', 'process_mrelease',
  'pselect6', 'pselect6_time64', 'pwrite64', 'pwritev', 'pwritev2',
  'read', 'readahead', 'readlink', 'readlinkat', 'readv', 'recv', 'recvfrom', 'recvmmsg', 'recvmmsg_time64', 'recvmsg',
  'remap_file_pages', 'removexattr', 'rename', 'renameat', 'renameat2', 'restart_syscall', 'rmdir', 'rseq',
  'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask', 'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend',
  'rt_sigtimedwait', 'rt_sigtimedwait_time64', 'rt_tgsigqueueinfo',
  'sched_getaffinity', 'sched_getattr', 'sched_getparam', 'sched_get_priority_max', 'sched_get_priority_min',
  'sched_getscheduler', 'sched_rr_get_interval', 'sched_rr_get_interval_time64', 'sched_setaffinity', 'sched_setattr',
  'sched_setparam', 'sched_setscheduler', 'sched_yield', 'seccomp', 'select', 'semctl', 'semget', 'semop', 'semtimedop',
  'semtimedop_time64', 'send', 'sendfile', 'sendfile64', 'sendmmsg', 'sendmsg', 'sendto',
  'setfsgid', 'setfsgid32', 'setfsuid', 'setfsuid32', 'setgid', 'setgid32', 'setgroups', 'setgroups32', 'setitimer',
  'setpgid', 'setpriority', 'setregid', 'setregid32', 'setresgid', 'setresgid32', 'setresuid', 'setresuid32',
  'setreuid', 'setreuid32', 'setrlimit', 'set_robust_list', 'setsid', 'setsockopt', 'set_thread_area',
  'set_tid_address', 'setuid', 'setuid32', 'setxattr', 'shmat', 'shmctl', 'shmdt', 'shmget', 'shutdown',
  'sigaltstack', 'signalfd', 'signalfd4', 'sigprocmask', 'sigreturn', 'socketcall', 'socketpair', 'splice',
  'stat', 'stat64', 'statfs', 'statfs64', 'statx', 'symlink', 'symlinkat', 'sync', 'sync_file_range', 'syncfs',
  'sysinfo', 'tee', 'tgkill', 'time', 'timer_create', 'timer_delete', 'timer_getoverrun', 'timer_gettime',
  'timer_gettime64', 'timer_settime', 'timer_settime64', 'timerfd_create', 'timerfd_gettime', 'timerfd_gettime64',
  'timerfd_settime', 'timerfd_settime64', 'times', 'tkill', 'truncate', 'truncate64', 'ugetrlimit', 'umask', 'uname',
  'unlink', 'unlinkat', 'utime', 'utimensat', 'utimensat_time64', 'utimes', 'vfork', 'vmsplice', 'wait4', 'waitid',
  'waitpid', 'write', 'writev',
];

/** Syscalls given back to a container that holds the capability (`--cap-add`, `--privileged` has no filter). */
const BY_CAPABILITY: readonly (readonly [string, readonly string[]])[] = [
  ['CAP_DAC_READ_SEARCH', ['open_by_handle_at']],
  ['CAP_SYS_ADMIN', [
    'bpf', 'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie', 'mount',
    'mount_setattr', 'move_mount', 'open_tree', 'perf_event_open', 'quotactl', 'quotactl_fd', 'setdomainname',
    'sethostname', 'setns', 'syslog', 'umount', 'umount2', 'unshare',
  ]],
  ['CAP_SYS_BOOT', ['reboot']],
  ['CAP_SYS_CHROOT', ['chroot']],
  ['CAP_SYS_MODULE', ['delete_module', 'init_module', 'finit_module']],
  ['CAP_SYS_PACCT', ['acct']],
  ['CAP_SYS_PTRACE', ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace']],
  ['CAP_SYS_RAWIO', ['iopl', 'ioperm']],
  ['CAP_SYS_TIME', ['settimeofday', 'stime', 'clock_settime', 'clock_settime64']],
  ['CAP_SYS_TTY_CONFIG', ['vhangup']],
  ['CAP_SYS_NICE', ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node']],
  ['CAP_SYSLOG', ['syslog']],
  ['CAP_BPF', ['bpf']],
  ['CAP_PERFMON', ['perf_event_open']],
];

/** Syscalls that exist on some architectures only (Go names, as in the profile's conditions). */
const BY_ARCH: readonly (readonly [readonly string[], readonly string[]])[] = [
  [['ppc64le'], ['sync_file_range2', 'swapcontext']],
  [['arm', 'arm64'], ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls']],
  [['amd64', 'x32'], ['arch_prctl']],
  [['amd64', 'x32', 'x86'], ['modify_ldt']],
  [['s390', 's390x'], ['s390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr']],
  [['riscv64'], ['riscv_flush_icache']],
];

const allow = 'SCMP_ACT_ALLOW';

/**
 * berth's built-in profile, in Docker's format and with Docker's policy, so that what runs
 * under Docker's default runs here and what Docker refuses is refused (EPERM; `clone3`
 * without CAP_SYS_ADMIN answers ENOSYS so that C libraries fall back to `clone`, whose
 * namespace flags are refused).
 */
export const BUILTIN_SECCOMP_PROFILE: SeccompProfile = Object.freeze({
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: EPERM,
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    { architecture: 'SCMP_ARCH_MIPS64', subArchitectures: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64N32'] },
    { architecture: 'SCMP_ARCH_MIPS64N32', subArchitectures: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64'] },
    { architecture: 'SCMP_ARCH_MIPSEL64', subArchitectures: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32'] },
    { architecture: 'SCMP_ARCH_MIPSEL64N32', subArchitectures: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64'] },
    { architecture: 'SCMP_ARCH_S390X', subArchitectures: ['SCMP_ARCH_S390'] },
    { architecture: 'SCMP_ARCH_RISCV64', subArchitectures: null },
  ],
  syscalls: [
    { names: [...BASE_SYSCALLS], action: allow },
    // Tracing one's own processes is safe since kernel 4.8 (seccomp is checked again after a tracer's change).
    { names: ['process_vm_readv', 'process_vm_writev', 'ptrace'], action: allow, includes: { minKernel: '4.8' } },
    { names: ['socket'], action: allow, args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] },
    ...PERSONALITIES.map((p) => ({ names: ['personality'], action: allow, args: [{ index: 0, value: p, op: 'SCMP_CMP_EQ' }] })),
    ...BY_ARCH.map(([arches, names]) => ({ names: [...names], action: allow, includes: { arches: [...arches] } })),
    ...BY_CAPABILITY.map(([cap, names]) => ({ names: [...names], action: allow, includes: { caps: [cap] } })),
    // New threads and processes, but no new namespaces, without CAP_SYS_ADMIN (s390 passes the flags second).
    { names: ['clone'], action: allow, args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }], excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] } },
    { names: ['clone'], action: allow, args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }], includes: { arches: ['s390', 's390x'] }, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    // clone3's flags sit in memory a filter cannot read: ENOSYS, so C libraries use clone.
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, excludes: { caps: ['CAP_SYS_ADMIN'] } },
  ],
}) as SeccompProfile;

/** Docker's profiles name architectures as Go does; Node's `process.arch` differs for some. */
export function goArch(nodeArch: string): string {
  const m: Record<string, string> = { x64: 'amd64', ia32: '386', ppc64: 'ppc64le', mipsel: 'mipsle', mips64el: 'mips64le' };
  return m[nodeArch] ?? nodeArch;
}

/** The seccomp name of the host's own architecture: the archMap entry a profile is read for. */
const NATIVE_SCMP_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64', '386': 'SCMP_ARCH_X86', arm64: 'SCMP_ARCH_AARCH64', arm: 'SCMP_ARCH_ARM',
  mips: 'SCMP_ARCH_MIPS', mips64: 'SCMP_ARCH_MIPS64', mips64le: 'SCMP_ARCH_MIPSEL64', mipsle: 'SCMP_ARCH_MIPSEL',
  ppc64le: 'SCMP_ARCH_PPC64LE', riscv64: 'SCMP_ARCH_RISCV64', s390x: 'SCMP_ARCH_S390X',
};

/** `a.b[.c]` release prefix compared as numbers: `6.18.44-fc` ≥ `4.8`. */
export function kernelAtLeast(release: string, min: string): boolean {
  const parse = (s: string) => (/^(\d+)\.(\d+)(?:\.(\d+))?/.exec(s) ?? []).slice(1, 4).map((x) => Number(x ?? 0));
  const have = parse(release);
  const want = parse(min);
  if (want.length === 0) throw new InvalidArgument(`seccomp profile: minKernel "${min}" is not a kernel version (like 4.8)`);
  for (let i = 0; i < 3; i++) {
    const h = have[i] ?? 0;
    const w = want[i] ?? 0;
    if (h !== w) return h > w;
  }
  return true;
}

export interface SeccompTarget {
  /** Go architecture name of the host (`goArch(process.arch)`). */
  arch: string;
  /** The container's bounding capabilities. */
  caps: readonly string[];
  /** The host's kernel release (`os.release()`). */
  kernel: string;
}

/**
 * The OCI filter for one container: the architectures of the host's archMap entry, and the
 * rules whose conditions hold for its capabilities, architecture and kernel.
 */
export function resolveSeccomp(p: SeccompProfile, t: SeccompTarget): OciSeccomp {
  const archMap = p.archMap ?? [];
  if ((p.architectures ?? []).length > 0 && archMap.length > 0) {
    throw new InvalidArgument("seccomp profile: both 'architectures' and 'archMap' are specified, use either 'architectures' or 'archMap'");
  }
  let architectures = [...(p.architectures ?? [])];
  const native = NATIVE_SCMP_ARCH[t.arch];
  for (const a of archMap) {
    if (a.architecture === native) architectures = [a.architecture, ...(a.subArchitectures ?? [])];
  }
  const has = (c: string) => t.caps.includes(c);
  const syscalls: OciSeccomp['syscalls'] = [];
  p.syscalls?.forEach((rule, i) => {
    let names = rule.names ?? [];
    if (rule.name !== undefined && rule.name !== '') {
      if (names.length > 0) throw new InvalidArgument(`seccomp profile: syscalls[${i}]: 'name' and 'names' were specified, use either 'name' or 'names'`);
      names = [rule.name];
    }
    const ex = rule.excludes;
    if (ex !== undefined) {
      if ((ex.arches ?? []).includes(t.arch)) return;
      if ((ex.caps ?? []).some(has)) return;
      if (typeof ex.minKernel === 'string' && ex.minKernel !== '' && kernelAtLeast(t.kernel, ex.minKernel)) return;
    }
    const inc = rule.includes;
    if (inc !== undefined) {
      if ((inc.arches ?? []).length > 0 && !(inc.arches ?? []).includes(t.arch)) return;
      if (!(inc.caps ?? []).every(has)) return;
      if (typeof inc.minKernel === 'string' && inc.minKernel !== '' && !kernelAtLeast(t.kernel, inc.minKernel)) return;
    }
    syscalls.push({
      names: [...names],
      action: rule.action,
      ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet } : {}),
      ...(rule.args && rule.args.length > 0 ? { args: rule.args.map((a) => ({ ...a })) } : {}),
    });
  });
  return {
    defaultAction: p.defaultAction,
    ...(p.defaultErrnoRet !== undefined ? { defaultErrnoRet: p.defaultErrnoRet } : {}),
    ...(architectures.length > 0 ? { architectures } : {}),
    ...(p.flags && p.flags.length > 0 ? { flags: [...p.flags] } : {}),
    ...(p.listenerPath ? { listenerPath: p.listenerPath } : {}),
    ...(p.listenerMetadata ? { listenerMetadata: p.listenerMetadata } : {}),
    syscalls,
  };
}

/**
 * The built-in profile on a kernel that runs no x32 system calls (`kernelRunsX32`, sys/abi.ts):
 * without SCMP_ARCH_X32. runc builds a container's filter at each start, and x32's share of
 * it is ~8 ms of CPU (bench/README.md). Where the kernel has no x32 ABI no x32 program can
 * start, and an x32 system call, which Docker's filter lets through to the kernel's ENOSYS,
 * now ends the process that made it (SIGSYS) instead. A profile given as a file is kept whole.
 */
export function withoutX32(s: OciSeccomp): OciSeccomp {
  if (!s.architectures?.includes('SCMP_ARCH_X32')) return s;
  return { ...s, architectures: s.architectures.filter((a) => a !== 'SCMP_ARCH_X32') };
}

/** What a container's `SecurityOpt` asks for, read as Docker reads it. */
export interface SecurityOptions {
  /** `unconfined`, `builtin`, or a profile's JSON text; undefined: the daemon's default. */
  seccomp?: string;
  noNewPrivileges: boolean;
  /** `writable-cgroups=true`: /sys/fs/cgroup mounted read-write. */
  writableCgroups: boolean;
}

/**
 * Reads `SecurityOpt` values (`key=value`, or the older `key:value`): `seccomp`,
 * `no-new-privileges[=bool]`, `writable-cgroups=bool`, and `apparmor` and `label`, accepted
 * and without effect on a host that has neither AppArmor nor SELinux enabled (as Docker does
 * there). Anything else is refused with Docker's message. (`systempaths=unconfined` never
 * reaches the daemon: the CLI sends it as empty MaskedPaths and ReadonlyPaths.)
 */
export function parseSecurityOpts(opts: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, writableCgroups: false };
  const bool = (opt: string, value: string | undefined): boolean => {
    if (value === undefined || /^(1|t|T|true|TRUE|True)$/.test(value)) return true;
    if (/^(0|f|F|false|FALSE|False)$/.test(value)) return false;
    throw new InvalidArgument(`invalid --security-opt 2: "${opt}"`);
  };
  for (const opt of opts) {
    let kv: string[];
    const eq = opt.indexOf('=');
    if (eq >= 0) kv = [opt.slice(0, eq), opt.slice(eq + 1)];
    else if (opt === 'no-new-privileges') kv = [opt];
    else if (opt.includes(':')) kv = [opt.slice(0, opt.indexOf(':')), opt.slice(opt.indexOf(':') + 1)];
    else throw new InvalidArgument(`invalid --security-opt 1: "${opt}"`);
    const [key = '', value] = kv;
    switch (key) {
      case 'seccomp':
        if (value === undefined || value === '') throw new InvalidArgument(`invalid --security-opt 2: "${opt}"`);
        out.seccomp = value;
        break;
      case 'no-new-privileges':
        out.noNewPrivileges = bool(opt, value);
        break;
      case 'writable-cgroups':
        out.writableCgroups = bool(opt, value ?? '');
        break;
      case 'apparmor':
      case 'label':
        break;
      default:
        throw new InvalidArgument(`invalid --security-opt 2: "${opt}"`);
    }
  }
  return out;
}

const ACTIONS = ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY'];
const OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];

/** A profile's JSON text, checked for the fields a filter is built from. */
export function parseSeccompProfile(text: string): SeccompProfile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new InvalidArgument(`decoding seccomp profile failed: ${(e as Error).message}`);
  }
  const fail = (what: string): never => {
    throw new InvalidArgument(`decoding seccomp profile failed: ${what}`);
  };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('the profile is not a JSON object');
  const p = v as Record<string, unknown>;
  const action = (x: unknown, where: string) => {
    if (typeof x !== 'string' || !ACTIONS.includes(x)) fail(`${where}: unknown action ${JSON.stringify(x)} (one of ${ACTIONS.join(', ')})`);
  };
  action(p['defaultAction'], 'defaultAction');
  const strings = (x: unknown, where: string) => {
    if (x !== undefined && x !== null && !(Array.isArray(x) && x.every((s) => typeof s === 'string'))) fail(`${where} must be a list of strings`);
  };
  strings(p['architectures'], 'architectures');
  strings(p['flags'], 'flags');
  if (p['archMap'] !== undefined && p['archMap'] !== null) {
    if (!Array.isArray(p['archMap'])) fail('archMap must be a list');
    (p['archMap'] as unknown[]).forEach((a, i) => {
      if (typeof a !== 'object' || a === null || typeof (a as Record<string, unknown>)['architecture'] !== 'string') fail(`archMap[${i}].architecture must be a string`);
      strings((a as Record<string, unknown>)['subArchitectures'], `archMap[${i}].subArchitectures`);
    });
  }
  if (p['syscalls'] !== undefined && p['syscalls'] !== null) {
    if (!Array.isArray(p['syscalls'])) fail('syscalls must be a list');
    (p['syscalls'] as unknown[]).forEach((s, i) => {
      if (typeof s !== 'object' || s === null) return fail(`syscalls[${i}] must be an object`);
      const r = s as Record<string, unknown>;
      action(r['action'], `syscalls[${i}].action`);
      strings(r['names'], `syscalls[${i}].names`);
      if (r['name'] !== undefined && typeof r['name'] !== 'string') fail(`syscalls[${i}].name must be a string`);
      if (r['errnoRet'] !== undefined && typeof r['errnoRet'] !== 'number') fail(`syscalls[${i}].errnoRet must be a number`);
      if (r['args'] !== undefined && r['args'] !== null) {
        if (!Array.isArray(r['args'])) fail(`syscalls[${i}].args must be a list`);
        (r['args'] as unknown[]).forEach((a, j) => {
          const o = a as Record<string, unknown> | null;
          if (typeof o !== 'object' || o === null || typeof o['index'] !== 'number' || typeof o['value'] !== 'number' || typeof o['op'] !== 'string') {
            return fail(`syscalls[${i}].args[${j}] needs index, value (numbers) and op`);
          }
          if (!OPS.includes(o['op'] as string)) fail(`syscalls[${i}].args[${j}].op: unknown operator ${JSON.stringify(o['op'])} (one of ${OPS.join(', ')})`);
        });
      }
      for (const k of ['includes', 'excludes'] as const) {
        const c = r[k];
        if (c === undefined || c === null) continue;
        if (typeof c !== 'object') fail(`syscalls[${i}].${k} must be an object`);
        const cond = c as Record<string, unknown>;
        strings(cond['arches'], `syscalls[${i}].${k}.arches`);
        strings(cond['caps'], `syscalls[${i}].${k}.caps`);
        const mk = cond['minKernel'];
        if (mk !== undefined && mk !== null && (typeof mk !== 'string' || (mk !== '' && !/^\d+\.\d+/.test(mk)))) fail(`syscalls[${i}].${k}.minKernel must be a kernel version like "4.8"`);
      }
    });
  }
  return p as unknown as SeccompProfile;
}
