import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AlreadyExists, Conflict, FailedPrecondition, Forbidden, InvalidArgument, NotFound, errorMessage } from '../../core/errors.js';
import type { Iptables } from '../../sys/iptables.js';
import type { NetOps, VethPlan } from '../../sys/net.js';
import type { ContainerRecord, Endpoint, EndpointConfig, PortBinding } from '../containers/types.js';
import type { EventBus } from '../events/bus.js';
import { CoalescingWriter, readJsonIfExists } from '../util/atomic.js';
import { Mutex } from '../util/mutex.js';
import type { EmbeddedDns } from './dns.js';
import {
  DEFAULT_BRIDGE_POOLS,
  USER_NETWORK_POOLS,
  allocateIp,
  completeIpamConfig,
  firstFreeSubnet,
  macForIp,
  normaliseMac,
  overlaps,
  parseCidr,
  type IpamConfig,
} from './ipam.js';
import { buildRules, chainNames, jumps, type RuleNetwork, type RulePort } from './rules.js';

/** A network as the Engine API shows it, plus what berth keeps for itself. */
export interface NetworkRecord {
  Id: string;
  Name: string;
  Created: string;
  Scope: 'local';
  Driver: 'bridge' | 'host' | 'null';
  EnableIPv6: boolean;
  IPAM: { Driver: 'default'; Options: Record<string, string> | null; Config: IpamConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** Linux bridge on the host (bridge driver). */
  bridge?: string;
  /** Allocated addresses: IP → container ID. */
  allocations: Record<string, string>;
}

export interface CreateNetworkRequest {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  CheckDuplicate?: boolean;
}

/** How a container's network is set up for a run, for the spec and the generated files. */
export interface ContainerNetSetup {
  /** Join this namespace; undefined with `hostNetwork` false: a new one (loopback only). */
  netnsPath?: string;
  hostNetwork: boolean;
  /** Lines for /etc/hosts after the localhost ones (the container's own addresses). */
  hostsLines: string[];
  /** Nameservers for resolv.conf (the embedded DNS server), unless the user gave --dns. */
  nameservers?: string[];
  /** Gateway of the first network, for `host-gateway` in --add-host. */
  gateway?: string;
  /** `--network container:<id>`: share that container's hostname, hosts and resolv.conf. */
  shareFrom?: ContainerRecord;
  /**
   * What must be done before the container's process starts, and may go on while its runtime
   * creates it in the namespace (`netnsPath` exists already): the veth pairs, addresses,
   * links and routes inside the namespace, the address allocations on disk, port rules.
   * Always settled before a failed start's clean-up.
   */
  ready?: Promise<void>;
}

export interface NetworkServiceOptions {
  root: string;
  /** Short tag naming this daemon's chains and default bridge (several daemons can share a host). */
  tag: string;
  defaultBridgeName: string;
  net: NetOps;
  iptables: Iptables;
  events: EventBus;
  dns?: EmbeddedDns;
  /** Every container record of the daemon (DNS answers, port conflicts, active endpoints). */
  containers: () => Iterable<ContainerRecord>;
  log?: (msg: string) => void;
  /** First host port tried for `-p 80` (a random published port). */
  ephemeralPorts?: { from: number; to: number };
}

const BUILTIN = new Set(['bridge', 'host', 'none']);
export const DNS_TTL = 600;

export class NetworkService {
  private readonly records = new Map<string, NetworkRecord>();
  private readonly dir: string;
  private readonly lock = new Mutex();
  private readonly writer = new CoalescingWriter();
  private readonly rulesLock = new Mutex();
  private rulesDirty = false;
  private jumpsMade = false;

  constructor(private readonly o: NetworkServiceOptions) {
    this.dir = join(o.root, 'networks');
  }

  // ---- state -------------------------------------------------------------------------------

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const f of await readdir(this.dir)) {
      if (!f.endsWith('.json')) continue;
      const r = await readJsonIfExists<NetworkRecord>(join(this.dir, f));
      if (r) this.records.set(r.Id, r);
    }
    if (!this.tryGet('bridge')) {
      const taken = [...(await this.o.net.hostRoutes()), ...this.subnets()];
      const subnet = firstFreeSubnet(DEFAULT_BRIDGE_POOLS, taken);
      if (subnet === undefined) throw new FailedPrecondition('no free subnet for the default bridge network: every pool overlaps a host route');
      await this.save(this.newRecord('bridge', 'bridge', {
        ipam: [completeIpamConfig({ Subnet: subnet })],
        bridge: this.o.defaultBridgeName,
        options: {
          'com.docker.network.bridge.default_bridge': 'true',
          'com.docker.network.bridge.enable_icc': 'true',
          'com.docker.network.bridge.enable_ip_masquerade': 'true',
          'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
          'com.docker.network.bridge.name': this.o.defaultBridgeName,
          'com.docker.network.driver.mtu': '1500',
        },
      }));
    }
    if (!this.tryGet('host')) await this.save(this.newRecord('host', 'host', {}));
    if (!this.tryGet('none')) await this.save(this.newRecord('none', 'null', {}));
    await this.o.net.sysctl('net/ipv4/ip_forward', '1').catch((e: unknown) => this.o.log?.(`cannot enable IP forwarding: ${errorMessage(e)}`));
    for (const r of this.records.values()) if (r.bridge !== undefined) await this.bringUp(r);
  }

  /** After the containers are loaded: frees addresses no running container holds, rebuilds the rules. */
  async reconcile(): Promise<void> {
    const running = new Set([...this.o.containers()].filter((c) => c.state.Running).map((c) => c.id));
    for (const r of this.records.values()) {
      const stale = Object.entries(r.allocations).filter(([, cid]) => !running.has(cid));
      if (stale.length === 0) continue;
      for (const [ip] of stale) delete r.allocations[ip];
      await this.save(r);
    }
    await this.applyRules();
  }

  async close(): Promise<void> {
    await this.o.dns?.closeAll();
  }

  /** Removes everything this daemon created on the host: rules, chains, bridges. */
  async teardownHost(): Promise<void> {
    this.jumpsMade = false;
    for (const j of jumps(this.o.tag)) await this.o.iptables.removeJump(j);
    const c = chainNames(this.o.tag);
    await this.o.iptables.deleteChain('nat', c.dnat);
    await this.o.iptables.deleteChain('nat', c.post);
    await this.o.iptables.deleteChain('filter', c.forward);
    for (const r of this.records.values()) if (r.bridge !== undefined) await this.o.net.deleteLink(r.bridge);
  }

  private newRecord(name: string, driver: NetworkRecord['Driver'], o: { ipam?: IpamConfig[]; bridge?: string; options?: Record<string, string>; labels?: Record<string, string>; internal?: boolean; attachable?: boolean }): NetworkRecord {
    return {
      Id: randomBytes(32).toString('hex'),
      Name: name,
      Created: new Date().toISOString(),
      Scope: 'local',
      Driver: driver,
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: null, Config: o.ipam ?? [] },
      Internal: o.internal ?? false,
      Attachable: o.attachable ?? false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Options: o.options ?? {},
      Labels: o.labels ?? {},
      ...(o.bridge !== undefined ? { bridge: o.bridge } : {}),
      allocations: {},
    };
  }

  /** Containers starting at once share the writes of a network's allocations (see CoalescingWriter). */
  private async save(r: NetworkRecord): Promise<void> {
    this.records.set(r.Id, r);
    await this.writer.writeJson(join(this.dir, `${r.Id}.json`), () => r);
  }

  private subnets(): string[] {
    return [...this.records.values()].flatMap((r) => r.IPAM.Config.map((c) => c.Subnet));
  }

  private async bringUp(r: NetworkRecord): Promise<void> {
    const cfg = r.IPAM.Config[0];
    if (!cfg || r.bridge === undefined) return;
    const mtu = Number(r.Options['com.docker.network.driver.mtu'] ?? 0);
    await this.o.net.ensureBridge(r.bridge, `${cfg.Gateway}/${parseCidr(cfg.Subnet).prefix}`, mtu > 0 ? { mtu } : {});
    await this.o.dns?.listen(r.Id, cfg.Gateway).catch((e: unknown) => this.o.log?.(`DNS for network ${r.Name} on ${cfg.Gateway}: ${errorMessage(e)}`));
  }

  // ---- queries -----------------------------------------------------------------------------

  list(): NetworkRecord[] {
    return [...this.records.values()];
  }

  tryGet(idOrName: string): NetworkRecord | undefined {
    const all = [...this.records.values()];
    return (
      all.find((r) => r.Id === idOrName) ??
      all.find((r) => r.Name === idOrName) ??
      (idOrName.length > 0 ? (() => {
        const hits = all.filter((r) => r.Id.startsWith(idOrName));
        return hits.length === 1 ? hits[0] : undefined;
      })() : undefined)
    );
  }

  get(idOrName: string): NetworkRecord {
    const r = this.tryGet(idOrName);
    if (!r) throw new NotFound(`network ${idOrName} not found`);
    return r;
  }

  isBuiltin(r: NetworkRecord): boolean {
    return BUILTIN.has(r.Name) && (r.Driver !== 'bridge' || r.Options['com.docker.network.bridge.default_bridge'] === 'true');
  }

  /** Containers attached to a network (members of it, running or not). */
  members(r: NetworkRecord): ContainerRecord[] {
    return [...this.o.containers()].filter((c) => Object.keys(this.membership(c)).includes(r.Name));
  }

  /** Running containers with an address on the network (Docker's "active endpoints"). */
  activeEndpoints(r: NetworkRecord): ContainerRecord[] {
    return [...this.o.containers()].filter((c) => c.state.Running && c.network?.endpoints[r.Name] !== undefined);
  }

  // ---- create, remove ----------------------------------------------------------------------

  async create(req: CreateNetworkRequest): Promise<NetworkRecord> {
    return this.lock.run(async () => {
      const name = req.Name ?? '';
      if (name === '') throw new InvalidArgument('network name must not be empty');
      if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new InvalidArgument(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      if (this.tryGet(name)?.Name === name) throw new AlreadyExists(`network with name ${name} already exists`);
      const driver = req.Driver ?? 'bridge';
      if (driver === 'host' || driver === 'null') throw new Conflict(`only one instance of "${driver}" network is allowed`);
      if (driver !== 'bridge') throw new NotFound(`plugin "${driver}" not found: berth supports the bridge driver`);
      if (req.EnableIPv6 === true) throw new InvalidArgument('IPv6 networks are not supported by berth yet');
      const configs = req.IPAM?.Config ?? [];
      if (configs.length > 1) throw new InvalidArgument('berth supports one IPv4 subnet per network');
      let ipam: IpamConfig;
      const mine = this.subnets();
      if (configs[0]?.Subnet) {
        ipam = completeIpamConfig(configs[0]);
        const clash = mine.find((s) => overlaps(parseCidr(s), parseCidr(ipam.Subnet)));
        if (clash !== undefined) throw new Conflict(`invalid pool request: Pool overlaps with other one on this address space (${clash})`);
      } else {
        if (configs[0]?.Gateway || configs[0]?.IPRange) throw new InvalidArgument('a subnet is required when a gateway or an IP range is given');
        const subnet = firstFreeSubnet(USER_NETWORK_POOLS, [...(await this.o.net.hostRoutes()), ...mine]);
        if (subnet === undefined) throw new FailedPrecondition('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
        ipam = completeIpamConfig({ Subnet: subnet });
      }
      const options = { ...(req.Options ?? {}) };
      const mtu = options['com.docker.network.driver.mtu'];
      if (mtu !== undefined && !(/^\d+$/.test(mtu) && Number(mtu) >= 68 && Number(mtu) <= 65535)) {
        throw new InvalidArgument(`invalid value for com.docker.network.driver.mtu: "${mtu}" (a whole number from 68 to 65535)`);
      }
      const r = this.newRecord(name, 'bridge', {
        ipam: [ipam],
        options,
        labels: req.Labels ?? {},
        internal: req.Internal === true,
        attachable: req.Attachable === true,
      });
      const bridge = options['com.docker.network.bridge.name'] ?? `br-${r.Id.slice(0, 12)}`;
      if (bridge.length > 15) throw new InvalidArgument(`bridge name ${bridge} is longer than 15 characters`);
      if ([...this.records.values()].some((x) => x.bridge === bridge)) throw new Conflict(`bridge ${bridge} is used by another network`);
      r.bridge = bridge;
      await this.save(r); // the record first: a crash leaves a network to remove, never a stray bridge
      try {
        await this.bringUp(r);
        await this.applyRules();
      } catch (e) {
        await this.o.net.deleteLink(bridge).catch(() => undefined);
        await rm(join(this.dir, `${r.Id}.json`), { force: true });
        this.records.delete(r.Id);
        throw e;
      }
      this.o.events.publish('network', 'create', r.Id, { name: r.Name, type: r.Driver });
      return r;
    });
  }

  async remove(idOrName: string): Promise<void> {
    await this.lock.run(async () => {
      const r = this.get(idOrName);
      if (this.isBuiltin(r)) throw new Forbidden(`${r.Name} is a pre-defined network and cannot be removed`);
      const active = this.activeEndpoints(r);
      if (active.length > 0) {
        throw new Conflict(`error while removing network: network ${r.Name} id ${r.Id} has active endpoints (${active.map((c) => c.name.slice(1)).join(', ')})`);
      }
      await this.o.dns?.close(r.Id);
      if (r.bridge !== undefined) await this.o.net.deleteLink(r.bridge);
      await rm(join(this.dir, `${r.Id}.json`), { force: true });
      this.records.delete(r.Id);
      for (const c of this.members(r)) if (c.endpointsConfig) delete c.endpointsConfig[r.Name];
      await this.applyRules();
      this.o.events.publish('network', 'destroy', r.Id, { name: r.Name, type: r.Driver });
    });
  }

  // ---- containers --------------------------------------------------------------------------

  /** The networks a container belongs to, by name (its NetworkMode first). */
  membership(c: ContainerRecord): Record<string, EndpointConfig> {
    const mode = networkModeName(c.hostConfig.NetworkMode);
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) return {};
    // Set at create (the NetworkMode network first), changed by connect/disconnect.
    return c.endpointsConfig ?? { [mode]: {} };
  }

  /** At create: the networks named must exist, and options must make sense for them. */
  prepare(c: ContainerRecord, endpoints: Record<string, EndpointConfig> | undefined): void {
    const mode = networkModeName(c.hostConfig.NetworkMode);
    if (mode === 'host' && (c.config.Hostname ?? '') === c.id.slice(0, 12)) c.config.Hostname = hostname();
    if (mode.startsWith('container:')) {
      if ((c.config.Hostname ?? '') !== '' && c.config.Hostname !== c.id.slice(0, 12)) {
        throw new InvalidArgument('conflicting options: hostname and the network mode');
      }
      const target = mode.slice('container:'.length);
      const other = [...this.o.containers()].find((x) => x.id === target || x.name === `/${target}` || (target.length >= 3 && x.id.startsWith(target)));
      if (!other) throw new NotFound(`No such container: ${target}`);
      // Docker's rule: the container takes the other's hostname along with its network.
      c.config.Hostname = other.config.Hostname ?? other.id.slice(0, 12);
      c.config.Domainname = other.config.Domainname ?? '';
      if ((c.hostConfig.PortBindings && Object.keys(c.hostConfig.PortBindings).length > 0) || c.hostConfig.PublishAllPorts === true) {
        throw new InvalidArgument('conflicting options: port publishing and the container type network mode');
      }
    }
    const out: Record<string, EndpointConfig> = {};
    const names = new Set<string>();
    if (!['host', 'none'].includes(mode) && !mode.startsWith('container:')) names.add(mode);
    // The docker CLI keys the endpoint of `--network default` as "default".
    const given = new Map(Object.entries(endpoints ?? {}).map(([k, v]) => [networkModeName(k), v] as const));
    for (const n of given.keys()) names.add(n);
    for (const n of names) {
      // `--network none|host` with endpoint options (the docker CLI sends `--mac-address` as
      // one, keyed by the mode): kept, as Docker keeps them, for a network with no interface.
      if (n === mode && (mode === 'none' || mode === 'host')) {
        out[n] = given.get(n) ?? {};
        continue;
      }
      const r = this.get(n); // NotFound: "network foo not found"
      const cfg = given.get(n) ?? given.get(r.Id) ?? {};
      if ((cfg.Aliases?.length ?? 0) > 0 && r.Name === 'bridge') throw new InvalidArgument('network-scoped aliases are only supported for user-defined networks');
      if (cfg.IPAMConfig?.IPv4Address && r.Name === 'bridge') throw new InvalidArgument('user specified IP address is supported on user defined networks only');
      if (r.Driver !== 'bridge') throw new InvalidArgument(`container cannot be connected to network "${r.Name}" this way: use --network ${r.Name}`);
      out[r.Name] = cfg.MacAddress ? { ...cfg, MacAddress: normaliseMac(cfg.MacAddress) } : cfg;
    }
    if (c.config.MacAddress) c.config.MacAddress = normaliseMac(c.config.MacAddress);
    c.endpointsConfig = out;
  }

  /** Before the process starts: namespace, veths, addresses, published ports, rules. */
  async setUp(c: ContainerRecord, findContainer: (idOrName: string) => ContainerRecord): Promise<ContainerNetSetup> {
    const mode = networkModeName(c.hostConfig.NetworkMode);
    if (mode === 'host') {
      delete c.network;
      return { hostNetwork: true, hostsLines: [] };
    }
    if (mode === 'none') {
      delete c.network;
      return { hostNetwork: false, hostsLines: [] };
    }
    if (mode.startsWith('container:')) {
      const other = findContainer(mode.slice('container:'.length));
      if (!other.state.Running) throw new Conflict(`cannot join network of a non running container: ${other.id}`);
      delete c.network;
      const netnsPath = other.network?.netns !== undefined ? this.o.net.netnsPath(other.network.netns) : `/proc/${other.state.Pid}/ns/net`;
      return { netnsPath, hostNetwork: false, hostsLines: [], shareFrom: other };
    }
    const netns = netnsName(c.id);
    const members = Object.entries(this.membership(c)).map(([name, cfg]) => ({ r: this.get(name), cfg }));
    c.network = { netns, endpoints: {}, ports: {} };
    const saves: Promise<void>[] = [];
    try {
      c.network.ports = await this.lock.run(() => this.allocatePorts(c));
      // Addresses first (written to disk meanwhile), then the namespace and the pairs.
      const hostsLines: string[] = [];
      const veths: VethPlan[] = [];
      for (const [i, { r, cfg }] of members.entries()) {
        const { ep, veth, saved } = this.reserve(c, r, cfg, `eth${i}`, i === 0);
        saves.push(saved);
        c.network.endpoints[r.Name] = ep;
        veths.push(veth);
        hostsLines.push(`${ep.IPAddress}\t${hostsName(c)}`);
      }
      // Only the namespace and the pairs precede the runtime's create (which joins it); the
      // addresses, routes and rules go in meanwhile, and are there before the process starts.
      const { created, done: plumbed } = this.o.net.createWithPairs(netns, veths);
      plumbed.catch(() => undefined); // awaited below, with the rest
      const netnsPath = await created;
      // Only published ports change the rules; a container without them starts without iptables.
      const ready = Promise.all([...saves, plumbed, hasPorts(c.network.ports) ? this.applyRules() : undefined]).then(() => undefined);
      ready.catch(() => undefined); // awaited by the caller, later
      const firstNet = members[0]?.r.IPAM.Config[0];
      return {
        netnsPath,
        hostNetwork: false,
        hostsLines,
        ...(firstNet ? { nameservers: [firstNet.Gateway], gateway: firstNet.Gateway } : {}),
        ready,
      };
    } catch (e) {
      await Promise.allSettled(saves);
      await this.tearDown(c).catch(() => undefined);
      throw e;
    }
  }

  /**
   * An address from the network's pool and the veth pair that will carry it; `saved` resolves
   * once the allocation is on disk.
   */
  private reserve(c: ContainerRecord, r: NetworkRecord, cfg: EndpointConfig, ifName: string, defaultRoute: boolean): { ep: Endpoint; veth: VethPlan; saved: Promise<void> } {
    const ipam = r.IPAM.Config[0];
    if (!ipam || r.bridge === undefined || c.network?.netns === undefined) throw new FailedPrecondition(`network ${r.Name} has no address pool`);
    const used = new Set(Object.keys(r.allocations));
    const ip = allocateIp(ipam, used, cfg.IPAMConfig?.IPv4Address ?? undefined);
    r.allocations[ip] = c.id; // taken at once: no await between the choice and the mark
    const saved = this.save(r);
    saved.catch(() => undefined); // awaited by the caller, later
    const prefix = parseCidr(ipam.Subnet).prefix;
    const mac = cfg.MacAddress || (ifName === 'eth0' && c.config.MacAddress) || macForIp(ip);
    const hostIf = `vb${createHash('sha256').update(`${c.id}/${r.Id}`).digest('hex').slice(0, 11)}`;
    const mtu = Number(r.Options['com.docker.network.driver.mtu'] ?? 0);
    const veth: VethPlan = {
      hostIf,
      bridge: r.bridge,
      netns: c.network.netns,
      ifName,
      cidr: `${ip}/${prefix}`,
      mac,
      ...(mtu > 0 ? { mtu } : {}),
      ...(defaultRoute && !r.Internal ? { gateway: ipam.Gateway } : {}),
    };
    const aliases = [...(cfg.Aliases ?? [])];
    const ep: Endpoint = {
      NetworkID: r.Id,
      EndpointID: createHash('sha256').update(`${c.id}/${r.Id}/${Date.now()}`).digest('hex'),
      Gateway: ipam.Gateway,
      IPAddress: ip,
      IPPrefixLen: prefix,
      MacAddress: mac,
      Aliases: aliases,
      DNSNames: r.Name === 'bridge' ? [] : [...new Set([c.name.slice(1), ...aliases, c.id.slice(0, 12), ...(c.config.Hostname ? [c.config.Hostname] : [])])],
      hostIf,
      ifName,
    };
    return { ep, veth, saved };
  }

  /** After the process ended (or failed to start): namespace gone, addresses and ports free. */
  async tearDown(c: ContainerRecord): Promise<void> {
    const st = c.network;
    if (st === undefined) return;
    if (st.netns !== undefined) await this.o.net.deleteNetns(st.netns).catch((e: unknown) => this.o.log?.(`removing ${st.netns}: ${errorMessage(e)}`));
    const changed: NetworkRecord[] = [];
    for (const r of this.records.values()) {
      const mine = Object.entries(r.allocations).filter(([, cid]) => cid === c.id);
      for (const [ip] of mine) delete r.allocations[ip];
      if (mine.length > 0) changed.push(r);
    }
    await Promise.all(changed.map((r) => this.save(r)));
    delete c.network;
    if (hasPorts(st.ports)) await this.applyRules();
  }

  /**
   * `network connect` or `disconnect` events for a container's networks, by name, as Docker
   * publishes them at each start (before `start`) and exit (after `die`).
   */
  publishMembership(action: 'connect' | 'disconnect', containerId: string, networks: readonly string[]): void {
    for (const name of networks) {
      const r = this.records.get(name) ?? [...this.records.values()].find((x) => x.Name === name);
      if (r) this.o.events.publish('network', action, r.Id, { container: containerId, name: r.Name, type: r.Driver });
    }
  }

  /** The namespace of a removed container, should its teardown not have ended (a crash meanwhile). */
  async forget(id: string): Promise<void> {
    await this.o.net.deleteNetns(netnsName(id));
  }

  /** `network connect`: membership, and an interface now when the container runs. */
  async connect(netIdOrName: string, c: ContainerRecord, cfg: EndpointConfig): Promise<void> {
    const r = this.get(netIdOrName);
    const mode = networkModeName(c.hostConfig.NetworkMode);
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) {
      throw new Conflict('container sharing network namespace with another container or host cannot be connected to any other network');
    }
    if (r.Driver !== 'bridge') throw new Conflict('container cannot be disconnected from host network or connected to host network');
    if (this.membership(c)[r.Name] !== undefined) throw new Forbidden(`endpoint with name ${c.name.slice(1)} already exists in network ${r.Name}`);
    if ((cfg.Aliases?.length ?? 0) > 0 && r.Name === 'bridge') throw new InvalidArgument('network-scoped aliases are only supported for user-defined networks');
    if (cfg.MacAddress) cfg = { ...cfg, MacAddress: normaliseMac(cfg.MacAddress) };
    c.endpointsConfig = { ...this.membership(c), [r.Name]: cfg };
    if (c.state.Running && c.network?.netns !== undefined) {
      const ifName = `eth${Object.keys(c.network.endpoints).length}`;
      const { ep, veth, saved } = this.reserve(c, r, cfg, ifName, false);
      try {
        await saved;
        await this.o.net.plumb(c.network.netns, [veth], { loopback: false });
      } catch (e) {
        delete r.allocations[ep.IPAddress];
        await this.save(r);
        throw e;
      }
      c.network.endpoints[r.Name] = ep;
      await this.applyRules();
    }
    this.o.events.publish('network', 'connect', r.Id, { container: c.id, name: r.Name, type: r.Driver });
  }

  async disconnect(netIdOrName: string, c: ContainerRecord): Promise<void> {
    const r = this.get(netIdOrName);
    if (this.membership(c)[r.Name] === undefined) throw new FailedPrecondition(`container ${c.id} is not connected to network ${r.Name}`);
    const ep = c.network?.endpoints[r.Name];
    if (ep && c.network?.netns !== undefined) {
      await this.o.net.removeFromNetns(c.network.netns, ep.ifName);
      delete r.allocations[ep.IPAddress];
      await this.save(r);
      delete c.network.endpoints[r.Name];
      await this.applyRules();
    }
    // NetworkMode stays as it is (Docker's rule): docker-compose disconnects and reconnects
    // a created container to set its aliases.
    c.endpointsConfig = { ...this.membership(c) };
    delete c.endpointsConfig[r.Name];
    this.o.events.publish('network', 'disconnect', r.Id, { container: c.id, name: r.Name, type: r.Driver });
  }

  // ---- published ports ---------------------------------------------------------------------

  private async allocatePorts(c: ContainerRecord): Promise<Record<string, PortBinding[] | null>> {
    const wanted: Record<string, { HostIp?: string; HostPort?: string }[]> = {};
    for (const [port, bindings] of Object.entries(c.hostConfig.PortBindings ?? {})) wanted[port] = bindings ?? [];
    if (c.hostConfig.PublishAllPorts === true) {
      for (const port of Object.keys(c.config.ExposedPorts ?? {})) if (!wanted[port] || wanted[port].length === 0) wanted[port] = [{ HostIp: '', HostPort: '' }];
    }
    const out: Record<string, PortBinding[] | null> = {};
    for (const port of Object.keys(c.config.ExposedPorts ?? {})) out[normalisePortKey(port)] = null;
    const taken = this.portsInUse(c.id);
    for (const [key, bindings] of Object.entries(wanted)) {
      const pk = normalisePortKey(key);
      const proto = pk.split('/')[1] as 'tcp' | 'udp' | 'sctp';
      const list: PortBinding[] = [];
      for (const b of bindings.length > 0 ? bindings : [{ HostIp: '', HostPort: '' }]) {
        const hostIp = b.HostIp ?? '';
        if (hostIp.includes(':')) continue; // IPv6 host addresses: berth's networks are IPv4
        let hostPort: number;
        const raw = b.HostPort ?? '';
        if (raw === '' || raw === '0') {
          hostPort = await this.randomPort(proto, hostIp, taken);
        } else {
          const [lo, hi] = raw.split('-').map(Number) as [number, number | undefined];
          if (!Number.isInteger(lo) || lo < 1 || lo > 65535) throw new InvalidArgument(`invalid host port: ${raw}`);
          hostPort = lo;
          if (hi !== undefined) {
            // A range of host ports for one container port: the first free one (Docker's rule).
            let found: number | undefined;
            for (let p = lo; p <= hi; p++) if (!clashes(taken, proto, hostIp, p) && (await hostPortFree(proto, hostIp, p))) { found = p; break; }
            if (found === undefined) throw new Conflict(`Bind for ${hostIp || '0.0.0.0'}:${raw} failed: port is already allocated`);
            hostPort = found;
          } else if (clashes(taken, proto, hostIp, hostPort) || !(await hostPortFree(proto, hostIp, hostPort))) {
            throw new Conflict(`Bind for ${hostIp || '0.0.0.0'}:${hostPort} failed: port is already allocated`);
          }
        }
        taken.push({ proto, hostIp, hostPort });
        list.push({ HostIp: hostIp === '' ? '0.0.0.0' : hostIp, HostPort: String(hostPort) });
      }
      out[pk] = list;
    }
    return out;
  }

  private portsInUse(except: string): { proto: string; hostIp: string; hostPort: number }[] {
    const out: { proto: string; hostIp: string; hostPort: number }[] = [];
    for (const c of this.o.containers()) {
      if (c.id === except || !c.network) continue;
      for (const [key, bindings] of Object.entries(c.network.ports)) {
        for (const b of bindings ?? []) out.push({ proto: key.split('/')[1] ?? 'tcp', hostIp: b.HostIp === '0.0.0.0' ? '' : b.HostIp, hostPort: Number(b.HostPort) });
      }
    }
    return out;
  }

  private async randomPort(proto: string, hostIp: string, taken: { proto: string; hostIp: string; hostPort: number }[]): Promise<number> {
    const { from, to } = this.o.ephemeralPorts ?? { from: 32768, to: 60999 };
    const span = to - from + 1;
    const start = Math.floor(Math.random() * span);
    for (let i = 0; i < span; i++) {
      const p = from + ((start + i) % span);
      if (!clashes(taken, proto, hostIp, p) && (await hostPortFree(proto, hostIp, p))) return p;
    }
    throw new Conflict('no free host port left for a published port');
  }

  // ---- rules -------------------------------------------------------------------------------

  /** Rewrites this daemon's chains from the current networks and ports (calls are coalesced). */
  async applyRules(): Promise<void> {
    this.rulesDirty = true;
    await this.rulesLock.run(async () => {
      if (!this.rulesDirty) return;
      this.rulesDirty = false;
      const nets: RuleNetwork[] = [];
      for (const r of this.records.values()) {
        const cfg = r.IPAM.Config[0];
        if (r.bridge !== undefined && cfg) nets.push({ bridge: r.bridge, subnet: cfg.Subnet, internal: r.Internal });
      }
      const ports: RulePort[] = [];
      for (const c of this.o.containers()) {
        const st = c.network;
        if (!st) continue;
        const ep = Object.values(st.endpoints)[0];
        if (!ep) continue;
        for (const [key, bindings] of Object.entries(st.ports)) {
          const [cp, proto] = key.split('/');
          for (const b of bindings ?? []) {
            ports.push({ proto: (proto ?? 'tcp') as RulePort['proto'], hostIp: b.HostIp, hostPort: Number(b.HostPort), containerIp: ep.IPAddress, containerPort: Number(cp) });
          }
        }
      }
      await this.o.iptables.restore(buildRules(this.o.tag, nets, ports));
      // The jumps into berth's chains are checked once per daemon start (8 iptables runs).
      if (!this.jumpsMade) {
        for (const j of jumps(this.o.tag)) await this.o.iptables.ensureJump(j);
        this.jumpsMade = true;
      }
    });
  }

  // ---- DNS ---------------------------------------------------------------------------------

  /** Addresses for a name seen from a network: containers, aliases, `name.network`, host.docker.internal. */
  lookup(networkId: string, rawName: string): string[] {
    const r = this.records.get(networkId);
    if (!r) return [];
    const name = rawName.toLowerCase().replace(/\.$/, '');
    const gateway = r.IPAM.Config[0]?.Gateway;
    if ((name === 'host.docker.internal' || name === 'gateway.docker.internal') && gateway !== undefined) return [gateway];
    if (r.Name === 'bridge') return []; // Docker's rule: no names on the default bridge
    const short = name.endsWith(`.${r.Name.toLowerCase()}`) ? name.slice(0, -(r.Name.length + 1)) : name;
    const out: string[] = [];
    for (const c of this.o.containers()) {
      const ep = c.network?.endpoints[r.Name];
      if (!c.state.Running || !ep) continue;
      if (ep.DNSNames.some((n) => n.toLowerCase() === short) || ep.Aliases.some((a) => a.toLowerCase() === short)) out.push(ep.IPAddress);
    }
    return out;
  }

  reverse(networkId: string, ip: string): string | undefined {
    const r = this.records.get(networkId);
    if (!r) return undefined;
    for (const c of this.o.containers()) {
      const ep = c.network?.endpoints[r.Name];
      if (ep?.IPAddress === ip && c.state.Running) return `${c.name.slice(1)}.${r.Name}`;
    }
    return undefined;
  }
}

/** `default` and `` mean the default bridge. */
export function networkModeName(mode: string | undefined): string {
  return mode === undefined || mode === '' || mode === 'default' ? 'bridge' : mode;
}

/** A container's named network namespace (`ip netns`). */
function netnsName(id: string): string {
  return `berth-${id.slice(0, 12)}`;
}

function hasPorts(ports: Record<string, PortBinding[] | null>): boolean {
  return Object.values(ports).some((b) => (b?.length ?? 0) > 0);
}

export function normalisePortKey(k: string): string {
  return k.includes('/') ? k : `${k}/tcp`;
}

function hostsName(c: ContainerRecord): string {
  const h = c.config.Hostname || c.id.slice(0, 12);
  return c.config.Domainname ? `${h}.${c.config.Domainname} ${h}` : h;
}

function clashes(taken: { proto: string; hostIp: string; hostPort: number }[], proto: string, hostIp: string, port: number): boolean {
  return taken.some((t) => t.proto === proto && t.hostPort === port && (t.hostIp === '' || hostIp === '' || t.hostIp === hostIp));
}

/** Is the port free on the host? A listener (or a bound UDP socket) of another program says no. */
export function hostPortFree(proto: string, hostIp: string, port: number): Promise<boolean> {
  const host = hostIp === '' ? '0.0.0.0' : hostIp;
  if (proto === 'udp') {
    return new Promise((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => {
        s.close();
        resolve(false);
      });
      s.bind(port, host, () => s.close(() => resolve(true)));
    });
  }
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A short tag for a daemon's host objects, from its state directory. */
export function daemonTag(root: string): string {
  return createHash('sha256').update(root).digest('hex').slice(0, 6);
}

/** Where generated state of the network service lives (for tests). */
export async function readNetworkFile(root: string, id: string): Promise<NetworkRecord | undefined> {
  return readFile(join(root, 'networks', `${id}.json`), 'utf8').then((t) => JSON.parse(t) as NetworkRecord, () => undefined);
}
