/**
 * The iptables rules of one berth daemon, computed from its networks and published ports.
 * Pure: the result is iptables-restore text for berth's own chains and the jumps into them;
 * src/sys/iptables.ts applies it.
 */

export interface RuleNetwork {
  bridge: string;
  subnet: string;
  internal: boolean;
}

export interface RulePort {
  proto: 'tcp' | 'udp' | 'sctp';
  /** '' or 0.0.0.0: every host address. */
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

export interface ChainNames {
  dnat: string;
  post: string;
  forward: string;
}

export function chainNames(tag: string): ChainNames {
  return { dnat: `BERTH-${tag}`, post: `BERTH-${tag}-POST`, forward: `BERTH-${tag}-FWD` };
}

export interface JumpRule {
  table: 'nat' | 'filter';
  from: string;
  match: string[];
  to: string;
}

/** The jumps from built-in chains into berth's: published ports on every local address, NAT, filtering. */
export function jumps(tag: string): JumpRule[] {
  const c = chainNames(tag);
  return [
    { table: 'nat', from: 'PREROUTING', match: ['-m', 'addrtype', '--dst-type', 'LOCAL'], to: c.dnat },
    { table: 'nat', from: 'OUTPUT', match: ['-m', 'addrtype', '--dst-type', 'LOCAL'], to: c.dnat },
    { table: 'nat', from: 'POSTROUTING', match: [], to: c.post },
    { table: 'filter', from: 'FORWARD', match: [], to: c.forward },
  ];
}

/**
 * - published ports: DNAT from any local address (or the one given) to the container, from the
 *   host (localhost included: bridges get route_localnet), from outside and from containers;
 * - NAT: traffic leaving a non-internal network is masqueraded; traffic the host sends into a
 *   bridge, and DNAT'ed traffic that comes back into the bridge it came from (a container
 *   reaching a neighbour or itself through a published port), is masqueraded so replies
 *   come back through the host;
 * - forwarding: different user networks cannot talk (Docker's isolation), internal networks
 *   reach nothing outside their bridge, the rest is accepted.
 */
export function buildRules(tag: string, networks: readonly RuleNetwork[], ports: readonly RulePort[]): string {
  const c = chainNames(tag);
  const nat: string[] = ['*nat', `:${c.dnat} - [0:0]`, `:${c.post} - [0:0]`];
  for (const p of ports) {
    const dst = p.hostIp !== '' && p.hostIp !== '0.0.0.0' ? ['-d', `${p.hostIp}/32`] : [];
    nat.push(
      ['-A', c.dnat, ...dst, '-p', p.proto, '-m', p.proto, '--dport', String(p.hostPort), '-j', 'DNAT', '--to-destination', `${p.containerIp}:${p.containerPort}`].join(' '),
    );
  }
  for (const n of networks) {
    if (!n.internal) nat.push(`-A ${c.post} -s ${n.subnet} ! -o ${n.bridge} -j MASQUERADE`);
    nat.push(`-A ${c.post} -o ${n.bridge} -m addrtype --src-type LOCAL -j MASQUERADE`);
    nat.push(`-A ${c.post} -s ${n.subnet} -o ${n.bridge} -m conntrack --ctstate DNAT -j MASQUERADE`);
  }
  nat.push('COMMIT');

  const filter: string[] = ['*filter', `:${c.forward} - [0:0]`];
  for (const a of networks) {
    for (const b of networks) {
      if (a.bridge !== b.bridge) filter.push(`-A ${c.forward} -i ${a.bridge} -o ${b.bridge} -j DROP`);
    }
  }
  for (const n of networks) {
    if (n.internal) {
      filter.push(`-A ${c.forward} -i ${n.bridge} ! -o ${n.bridge} -j DROP`);
      filter.push(`-A ${c.forward} -o ${n.bridge} ! -i ${n.bridge} -j DROP`);
    }
  }
  for (const n of networks) {
    filter.push(`-A ${c.forward} -o ${n.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
    filter.push(`-A ${c.forward} -o ${n.bridge} -m conntrack --ctstate DNAT -j ACCEPT`);
    filter.push(`-A ${c.forward} -i ${n.bridge} -j ACCEPT`);
  }
  filter.push('COMMIT');
  return `${[...nat, ...filter].join('\n')}\n`;
}
