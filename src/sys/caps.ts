import { readFileSync } from 'node:fs';

/** Linux capabilities by number (capability.h), as OCI names them. */
export const CAPS_BY_NUMBER: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** The capabilities in a `CapBnd:` mask of /proc/<pid>/status (hex), by name. */
export function capsOfMask(hex: string): string[] {
  const mask = BigInt(`0x${hex}`);
  return CAPS_BY_NUMBER.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/**
 * The capabilities this process may hand to a container: its bounding set. Inside another
 * container or a sandbox that set can lack some (CAP_SYS_RESOURCE, say), and a runtime asked
 * for them fails ("unable to apply caps: operation not permitted"). Undefined when unknown.
 */
export function boundingCaps(status = '/proc/self/status'): string[] | undefined {
  try {
    const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync(status, 'utf8'));
    return m?.[1] !== undefined ? capsOfMask(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
