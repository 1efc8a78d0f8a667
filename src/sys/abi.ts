import { run as defaultRun, type Runner } from './exec.js';

/** getpid's number on x86-64, with the bit that makes a system call an x32 one. */
const X32_GETPID = 0x40000000 + 39;

/**
 * Whether this x86-64 kernel runs x32 system calls. Kernels built without the x32 ABI, or
 * with it off (Debian's: `syscall.x32=y` turns it on at boot), answer every one with ENOSYS,
 * and no x32 program can even be started on them. Asked by making one: perl's `syscall`
 * (perl-base is essential in Debian) calls getpid with the x32 bit, which answers a pid where
 * the ABI runs and -1 where it does not. Undefined when it cannot be told (another
 * architecture, no perl, an answer that is neither).
 */
export async function kernelRunsX32(arch: string = process.arch, runner: Runner = defaultRun): Promise<boolean | undefined> {
  if (arch !== 'x64') return undefined;
  const r = await runner('perl', ['-e', `print syscall(${X32_GETPID})`], { allowFailure: true }).catch(() => undefined);
  if (r === undefined || r.code !== 0) return undefined;
  const answer = Number(r.stdout.trim());
  if (answer === -1) return false;
  return Number.isInteger(answer) && answer > 0 ? true : undefined;
}
