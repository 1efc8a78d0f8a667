import { existsSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { Internal } from '../core/errors.js';
import { run as defaultRun, type Runner } from './exec.js';
import { Mounter } from './mount.js';

/**
 * Links, bridges and network namespaces, through iproute2 (`ip`). The one place berth
 * changes the host's network devices; everything that decides *what* to create lives in
 * src/engine/network and hands plain values to this class.
 */

export interface VethPlan {
  /** Host side name (at most 15 characters). */
  hostIf: string;
  bridge: string;
  /** Named namespace (`ip netns`) the container side goes into. */
  netns: string;
  /** Name inside the container (eth0, eth1, ...). */
  ifName: string;
  /** Address with prefix, `10.88.0.5/16`. */
  cidr: string;
  mac: string;
  /** Default route through this gateway (the first network's). */
  gateway?: string;
  mtu?: number;
}

export class NetOps {
  constructor(
    private readonly run: Runner = defaultRun,
    private readonly mounter: Mounter = new Mounter(run),
  ) {}

  private async ip(args: string[], input?: string): Promise<void> {
    const r = await this.run('ip', args, { allowFailure: true, ...(input !== undefined ? { input } : {}) });
    if (r.code !== 0) throw new Internal(`ip ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }

  /** Creates the bridge with its gateway address, up; an existing bridge is kept and fixed up. */
  async ensureBridge(name: string, gatewayCidr: string, opts: { mtu?: number } = {}): Promise<void> {
    if (!(await this.linkExists(name))) {
      await this.ip(['link', 'add', 'name', name, ...(opts.mtu ? ['mtu', String(opts.mtu)] : []), 'type', 'bridge']);
    }
    const r = await this.run('ip', ['-4', '-o', 'addr', 'show', 'dev', name], { allowFailure: true });
    if (!r.stdout.includes(` ${gatewayCidr} `)) await this.ip(['addr', 'add', gatewayCidr, 'dev', name]);
    await this.ip(['link', 'set', name, 'up']);
    // Lets DNAT'ed traffic from 127.0.0.1 (published ports on localhost) leave through the bridge.
    await this.sysctl(`net/ipv4/conf/${name}/route_localnet`, '1').catch(() => undefined);
  }

  async deleteLink(name: string): Promise<void> {
    if (await this.linkExists(name)) await this.ip(['link', 'del', name]);
  }

  async linkExists(name: string): Promise<boolean> {
    return existsSync(`/sys/class/net/${name}`);
  }

  netnsPath(name: string): string {
    return `/run/netns/${name}`;
  }

  /**
   * A namespace of its own for a container, with its pairs: `created` once the namespace and
   * the pairs are there (the runtime can join it), `done` once they are set up inside as well
   * (loopback up). Two `ip -batch` processes, the namespace made by the first (`ip netns add`
   * does the same in a process of its own).
   */
  createWithPairs(netns: string, veths: readonly VethPlan[]): { created: Promise<string>; done: Promise<void> } {
    const created = this.plumbHost(veths, { netns: existsSync(this.netnsPath(netns)) ? undefined : netns }).then(() => this.netnsPath(netns));
    const done = created.then(() => this.plumbInside(netns, veths, { loopback: true }));
    return { created, done };
  }

  /**
   * The given veth pairs in an existing namespace, in two `ip -batch` processes: `plumbHost`,
   * then `plumbInside`; `loopback` also brings `lo` up (a namespace just made).
   */
  async plumb(netns: string, veths: readonly VethPlan[], opts: { loopback: boolean }): Promise<void> {
    await this.plumbHost(veths);
    await this.plumbInside(netns, veths, opts);
  }

  /**
   * On the host: the pairs with their container ends in their namespace, the host ends on
   * their bridges with hairpin on (a container reaching its own published port through the
   * host comes back) and up; `netns`, a namespace made first, by the same process.
   */
  async plumbHost(veths: readonly VethPlan[], opts: { netns?: string | undefined } = {}): Promise<void> {
    const host = [...(opts.netns !== undefined ? [`netns add ${opts.netns}`] : []), ...veths.flatMap(hostSide)];
    if (host.length > 0) await this.ip(['-batch', '-'], `${host.join('\n')}\n`);
  }

  /** Inside the namespace: loopback (with `loopback`), addresses, links up, the default route. */
  async plumbInside(netns: string, veths: readonly VethPlan[], opts: { loopback: boolean }): Promise<void> {
    const inside = [...(opts.loopback ? ['link set lo up'] : []), ...veths.flatMap(namespaceSide)];
    if (inside.length > 0) await this.ip(['-n', netns, '-batch', '-'], `${inside.join('\n')}\n`);
  }

  /**
   * What `ip netns del` does: a lazy unmount of the namespace's bind mount and its file gone
   * (the unmount goes with the container root's, in one process). The namespace ends with its
   * last user, and with it the container ends of its veth pairs (and so the host ends).
   */
  async deleteNetns(name: string): Promise<void> {
    const path = this.netnsPath(name);
    if (!existsSync(path)) return;
    await this.mounter.detach(path);
    await unlink(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw new Internal(`removing network namespace ${name}: ${e.message}`);
    });
  }

  /** Removes one container-side interface (disconnect of a running container). */
  async removeFromNetns(netns: string, ifName: string): Promise<void> {
    await this.ip(['-n', netns, 'link', 'del', ifName]).catch(() => undefined);
  }

  async sysctl(key: string, value: string): Promise<void> {
    await writeFile(`/proc/sys/${key}`, value);
  }

  /** IPv4 routes of the host, as `a.b.c.d/n` (for choosing subnets that clash with nothing). */
  async hostRoutes(): Promise<string[]> {
    const r = await this.run('ip', ['-4', '-o', 'route', 'show', 'table', 'all'], { allowFailure: true });
    const out: string[] = [];
    for (const line of r.stdout.split('\n')) {
      const first = line.trim().split(/\s+/)[0] ?? '';
      const dst = first === 'local' || first === 'broadcast' ? (line.trim().split(/\s+/)[1] ?? '') : first;
      if (/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(dst)) out.push(dst.includes('/') ? dst : `${dst}/32`);
    }
    return out;
  }
}

/** `ip` commands run on the host for one pair. */
export function hostSide(p: VethPlan): string[] {
  const mtu = p.mtu ? ` mtu ${p.mtu}` : '';
  return [
    `link add name ${p.hostIf}${mtu} type veth peer name ${p.ifName} address ${p.mac}${mtu} netns ${p.netns}`,
    `link set ${p.hostIf} master ${p.bridge}`,
    `link set ${p.hostIf} type bridge_slave hairpin on`,
    `link set ${p.hostIf} up`,
  ];
}

/** `ip` commands run inside the namespace for one pair. */
export function namespaceSide(p: VethPlan): string[] {
  return [
    `addr add ${p.cidr} dev ${p.ifName}`,
    `link set ${p.ifName} up`,
    ...(p.gateway !== undefined ? [`route replace default via ${p.gateway} dev ${p.ifName}`] : []),
  ];
}
