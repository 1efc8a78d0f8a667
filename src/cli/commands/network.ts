/**
 * `berth network create|ls|inspect|rm|prune|connect|disconnect`: the docker CLI's network
 * commands over the Engine API's /networks endpoints, with its flags, messages and output.
 */
import { parseFiltersParam } from '../../core/network-filters.js';
import { InvalidArgument, NotFound, errorMessage } from '../../core/errors.js';
import { isDaemonError } from '../../client/index.js';
import { confirm, filtersJson, formatError, StatusError, type Cli, type CommandDef } from '../context.js';
import { networkConnectRequest, networkCreateRequest, pruneReport, renderNetworkList, type NetworkResource } from '../networks.js';

const net = (name: string) => `/networks/${encodeURIComponent(name)}`;

/** Runs a request builder; its validation errors print bare, as the docker CLI prints them. */
function build<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof InvalidArgument && !isDaemonError(e)) throw new StatusError(1, errorMessage(e));
    throw e;
  }
}

const FORMAT_HELP = "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template";

export const networkCreate: CommandDef = {
  name: 'network create',
  usage: '[OPTIONS] NETWORK',
  description: 'Create a network',
  flags: [
    { long: 'attachable', kind: 'bool', help: 'Enable manual container attachment' },
    { long: 'aux-address', kind: 'list', type: 'map', help: 'Auxiliary IPv4 or IPv6 addresses used by Network driver' },
    { long: 'config-from', kind: 'string', help: 'The network from which to copy the configuration' },
    { long: 'config-only', kind: 'bool', help: 'Create a configuration only network' },
    { long: 'driver', short: 'd', kind: 'string', default: 'bridge', help: 'Driver to manage the Network' },
    { long: 'gateway', kind: 'list', type: 'strings', help: 'IPv4 or IPv6 Gateway for the master subnet' },
    { long: 'ingress', kind: 'bool', help: 'Create swarm routing-mesh network' },
    { long: 'internal', kind: 'bool', help: 'Restrict external access to the network' },
    { long: 'ip-range', kind: 'list', type: 'strings', help: 'Allocate container ip from a sub-range' },
    { long: 'ipam-driver', kind: 'string', default: 'default', help: 'IP Address Management Driver' },
    { long: 'ipam-opt', kind: 'list', type: 'map', help: 'Set IPAM driver specific options' },
    { long: 'ipv6', kind: 'bool', help: 'Enable or disable IPv6 networking' },
    { long: 'label', kind: 'list', help: 'Set metadata on a network' },
    { long: 'opt', short: 'o', kind: 'list', type: 'map', help: 'Set driver specific options' },
    { long: 'scope', kind: 'string', help: "Control the network's scope" },
    { long: 'subnet', kind: 'list', type: 'strings', help: 'Subnet in CIDR format that represents a network segment' },
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(cli, f, args) {
    const body = build(() => networkCreateRequest(args[0] as string, {
      driver: f.str('driver') ?? 'bridge',
      subnets: f.list('subnet'),
      ipRanges: f.list('ip-range'),
      gateways: f.list('gateway'),
      auxAddresses: f.list('aux-address'),
      ipamDriver: f.str('ipam-driver') ?? 'default',
      ipamOpts: f.list('ipam-opt'),
      internal: f.bool('internal'),
      attachable: f.bool('attachable'),
      ingress: f.bool('ingress'),
      ipv6: f.bool('ipv6'),
      scope: f.str('scope') ?? '',
      configOnly: f.bool('config-only'),
      configFrom: f.str('config-from') ?? '',
      opts: f.list('opt'),
      labels: f.list('label'),
    }));
    const res = await cli.client().json<{ Id: string; Warning?: string }>('POST', '/networks/create', { body });
    if (res.Warning !== undefined && res.Warning !== '') cli.err(`${res.Warning}\n`);
    cli.out(`${res.Id}\n`);
    return 0;
  },
};

export const networkLs: CommandDef = {
  name: 'network ls',
  usage: '[OPTIONS]',
  description: 'List networks',
  flags: [
    { long: 'filter', short: 'f', kind: 'list', type: 'filter', help: 'Provide filter values (e.g. "driver=bridge")' },
    { long: 'format', kind: 'string', help: FORMAT_HELP },
    { long: 'no-trunc', kind: 'bool', help: 'Do not truncate the output' },
    { long: 'quiet', short: 'q', kind: 'bool', help: 'Only display network IDs' },
  ],
  maxArgs: 0,
  async run(cli, f) {
    const filters = filtersJson(f.list('filter'));
    const list = await cli.client().json<NetworkResource[] | null>('GET', '/networks', { query: { filters } });
    cli.out(renderNetworkList(list ?? [], { format: f.str('format'), quiet: f.bool('quiet'), trunc: !f.bool('no-trunc'), filters: parseFiltersParam(filters) }));
    return 0;
  },
};

export const networkInspect: CommandDef = {
  name: 'network inspect',
  usage: '[OPTIONS] NETWORK [NETWORK...]',
  description: 'Display detailed information on one or more networks',
  flags: [
    { long: 'format', short: 'f', kind: 'string', help: "Format output using a custom template: 'json' or a Go template" },
    { long: 'verbose', short: 'v', kind: 'bool', help: 'Verbose output for diagnostics' },
  ],
  minArgs: 1,
  async run(cli, f, args) {
    const verbose = f.bool('verbose') ? 'true' : undefined;
    const results = await Promise.allSettled(args.map((name) => cli.client().json('GET', net(name), { query: { verbose } })));
    const found = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const format = f.str('format');
    if (format !== undefined && format !== '') {
      const { formatOne } = await import('../format/index.js');
      for (const v of found) cli.out(formatOne(format, v));
    } else {
      cli.out(found.length === 0 ? '[]\n' : `${JSON.stringify(found, null, 4)}\n`);
    }
    let failed = false;
    for (const r of results) {
      if (r.status === 'rejected') {
        failed = true;
        cli.err(`${formatError(r.reason)}\n`);
      }
    }
    return failed ? 1 : 0;
  },
};

export const networkRm: CommandDef = {
  name: 'network rm',
  usage: 'NETWORK [NETWORK...]',
  description: 'Remove one or more networks',
  flags: [{ long: 'force', short: 'f', kind: 'bool', help: 'Do not error if the network does not exist' }],
  minArgs: 1,
  async run(cli, f, args) {
    // One after the other, like docker: each name printed as given once removed.
    let status = 0;
    for (const name of args) {
      try {
        await cli.client().call('DELETE', net(name));
        cli.out(`${name}\n`);
      } catch (e) {
        if (f.bool('force') && e instanceof NotFound) continue;
        cli.err(`${formatError(e)}\n`);
        status = 1;
      }
    }
    return status;
  },
};

export const networkPrune: CommandDef = {
  name: 'network prune',
  usage: '[OPTIONS]',
  description: 'Remove all unused networks',
  flags: [
    { long: 'filter', kind: 'list', type: 'filter', help: 'Provide filter values (e.g. "until=<timestamp>")' },
    { long: 'force', short: 'f', kind: 'bool', help: 'Do not prompt for confirmation' },
  ],
  maxArgs: 0,
  async run(cli: Cli, f) {
    if (!f.bool('force') && !(await confirm(cli, 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?'))) return 0;
    const r = await cli.client().json<{ NetworksDeleted?: string[] | null } | null>('POST', '/networks/prune', {
      query: { filters: filtersJson(f.list('filter')) },
    });
    cli.out(pruneReport(r?.NetworksDeleted));
    return 0;
  },
};

export const networkConnect: CommandDef = {
  name: 'network connect',
  usage: '[OPTIONS] NETWORK CONTAINER',
  description: 'Connect a container to a network',
  flags: [
    { long: 'alias', kind: 'list', type: 'strings', help: 'Add network-scoped alias for the container' },
    { long: 'driver-opt', kind: 'list', type: 'strings', help: 'driver options for the network' },
    { long: 'ip', kind: 'string', type: 'ip', help: 'IPv4 address (e.g., "172.30.100.104")' },
    { long: 'ip6', kind: 'string', type: 'ip', help: 'IPv6 address (e.g., "2001:db8::33")' },
    { long: 'link', kind: 'list', help: 'Add link to another container' },
    { long: 'link-local-ip', kind: 'list', type: 'strings', help: 'Add a link-local address for the container' },
  ],
  minArgs: 2,
  maxArgs: 2,
  async run(cli, f, args) {
    const [network = '', container = ''] = args;
    const body = build(() => networkConnectRequest(container, {
      aliases: f.list('alias'),
      ip: f.str('ip') ?? '',
      ip6: f.str('ip6') ?? '',
      links: f.list('link'),
      linkLocalIps: f.list('link-local-ip'),
      driverOpts: f.list('driver-opt'),
    }));
    await cli.client().call('POST', `${net(network)}/connect`, { body });
    return 0;
  },
};

export const networkDisconnect: CommandDef = {
  name: 'network disconnect',
  usage: '[OPTIONS] NETWORK CONTAINER',
  description: 'Disconnect a container from a network',
  flags: [{ long: 'force', short: 'f', kind: 'bool', help: 'Force the container to disconnect from a network' }],
  minArgs: 2,
  maxArgs: 2,
  async run(cli, f, args) {
    const [network = '', container = ''] = args;
    await cli.client().call('POST', `${net(network)}/disconnect`, { body: { Container: container, Force: f.bool('force') } });
    return 0;
  },
};
