import { describe, expect, it } from 'vitest';
import { fakeRunner } from './exec.js';
import { kernelRunsX32 } from './abi.js';

describe('kernelRunsX32', () => {
  it("reads perl's answer to an x32 getpid: a pid where the ABI runs, -1 (ENOSYS) where it does not", async () => {
    const off = fakeRunner(() => ({ stdout: '-1' }));
    expect(await kernelRunsX32('x64', off.runner)).toBe(false);
    expect(off.calls).toEqual([{ cmd: 'perl', args: ['-e', `print syscall(${0x40000027})`] }]);
    expect(await kernelRunsX32('x64', fakeRunner(() => ({ stdout: '4242' })).runner)).toBe(true);
    expect(await kernelRunsX32('x64', fakeRunner(() => ({ stdout: '' })).runner)).toBeUndefined();
  });

  it('cannot tell without perl or off x86-64', async () => {
    expect(await kernelRunsX32('x64', fakeRunner(() => ({ code: 127, stderr: 'perl: not found' })).runner)).toBeUndefined();
    const arm = fakeRunner(() => ({ stdout: '-1' }));
    expect(await kernelRunsX32('arm64', arm.runner)).toBeUndefined();
    expect(arm.calls).toEqual([]);
  });

  it('answers on this host', async () => {
    const r = await kernelRunsX32();
    if (process.arch === 'x64') expect(typeof r).toBe('boolean');
    else expect(r).toBeUndefined();
  });
});
