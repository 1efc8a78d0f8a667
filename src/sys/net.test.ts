import { describe, expect, it } from 'vitest';
import { fakeRunner } from './exec.js';
import { NetOps, type VethPlan } from './net.js';

/** NetOps with a runner that records each command and its input, and succeeds. */
function recording() {
  const { runner, calls } = fakeRunner();
  return { ops: new NetOps(runner), calls };
}

const veth = (netns: string): VethPlan => ({ hostIf: 'vb0123456789a', bridge: 'berth0', netns, ifName: 'eth0', cidr: '10.88.0.5/16', mac: '02:42:0a:58:00:05', gateway: '10.88.0.1' });

describe('a container namespace and its pairs', () => {
  it('makes the namespace in the host batch that adds the pairs, then sets them up inside', async () => {
    const { ops, calls } = recording();
    const netns = `berth-test-${process.pid}-none`;
    const { created, done } = ops.createWithPairs(netns, [veth(netns)]);
    expect(await created).toBe(`/run/netns/${netns}`);
    await done;
    expect(calls.map((c) => [c.cmd, ...c.args])).toEqual([
      ['ip', '-batch', '-'],
      ['ip', '-n', netns, '-batch', '-'],
    ]);
    expect(calls[0]?.input).toBe(
      [
        `netns add ${netns}`,
        `link add name vb0123456789a type veth peer name eth0 address 02:42:0a:58:00:05 netns ${netns}`,
        'link set vb0123456789a master berth0',
        'link set vb0123456789a type bridge_slave hairpin on',
        'link set vb0123456789a up',
        '',
      ].join('\n'),
    );
    expect(calls[1]?.input).toBe(['link set lo up', 'addr add 10.88.0.5/16 dev eth0', 'link set eth0 up', 'route replace default via 10.88.0.1 dev eth0', ''].join('\n'));
  });

  it('does not make a namespace again that is there', async () => {
    const { ops, calls } = recording();
    // A path that exists stands for the namespace's file.
    ops.netnsPath = () => '/';
    await ops.createWithPairs('there', [veth('there')]).done;
    expect((calls[0]?.input ?? '').startsWith('link add name vb0123456789a ')).toBe(true);
  });

  it('fails `created` with the command and its error, and `done` with it', async () => {
    const ops = new NetOps(async () => ({ code: 1, stdout: '', stderr: 'Cannot create namespace file "/run/netns/x": File exists\n' }));
    const { created, done } = ops.createWithPairs(`berth-test-${process.pid}-fails`, [veth('x')]);
    await expect(created).rejects.toThrow(/^ip -batch -: Cannot create namespace file/);
    await expect(done).rejects.toThrow(/Cannot create namespace file/);
  });
});
