/** version, info, events. */
import { readFileSync } from 'node:fs';
import { arch as osArch } from 'node:os';
import { jsonMessages } from '../../client/index.js';
import { errorMessage } from '../../core/errors.js';
import { filtersJson, formatError, StatusError, type Cli, type CommandDef } from '../context.js';
import { cliRelative } from '../paths.js';
import { asGoStruct } from '../format/values.js';
import { getTimestamp, rfc3339NanoFixed } from '../times.js';
import { bytesSize } from '../units.js';

const GOARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

function cliVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(cliRelative('../../package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'dev';
  } catch {
    return 'dev';
  }
}

async function output(cli: Cli, format: string, value: unknown): Promise<void> {
  const { formatOne } = await import('../format/index.js');
  cli.out(formatOne(format, value));
}

/** `Key:<tab>value` lines as Go's tabwriter (min width 20, padding 1) lays them out. */
function kv(indent: string, pairs: readonly [string, string][]): string {
  const width = Math.max(20, ...pairs.map(([k]) => indent.length + k.length + 2));
  return pairs.map(([k, v]) => `${`${indent}${k}:`.padEnd(width)}${v}\n`).join('');
}

interface VersionJson {
  Platform?: { Name?: string };
  Components?: { Name: string; Version: string; Details?: Record<string, string> }[];
  Version?: string;
  ApiVersion?: string;
  MinAPIVersion?: string;
  GitCommit?: string;
  GoVersion?: string;
  Os?: string;
  Arch?: string;
  KernelVersion?: string;
  Experimental?: boolean;
  BuildTime?: string;
}

/**
 * `version --format`'s data as docker's templates see it: its Go structs name the API
 * version `APIVersion` (sent as `ApiVersion`; the Go name is added unseen by `json`), and a
 * component's Details is a Go map, whose keys `json` prints sorted.
 */
export function versionView(client: { ApiVersion: string }, server: VersionJson | undefined): { Client: object; Server: object | null } {
  const alias = <T extends { ApiVersion?: string }>(o: T): T => Object.defineProperty(o, 'APIVersion', { value: o.ApiVersion ?? '', enumerable: false });
  if (server === undefined) return { Client: alias({ ...client }), Server: null };
  const components = server.Components?.map((c) => ({ ...c, Details: c.Details && Object.fromEntries(Object.entries(c.Details).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) }));
  return { Client: alias({ ...client }), Server: alias({ ...server, ...(components ? { Components: components } : {}) }) };
}

export const version: CommandDef = {
  name: 'version',
  usage: '[OPTIONS]',
  description: 'Show the berth version information',
  flags: [{ long: 'format', short: 'f', kind: 'string', help: "Format output using a custom template: 'json' or a Go template" }],
  maxArgs: 0,
  async run(cli, f) {
    const client = {
      Platform: { Name: '' },
      Version: cliVersion(),
      ApiVersion: cli.client().apiVersion,
      DefaultAPIVersion: cli.client().apiVersion,
      NodeVersion: process.version,
      GoVersion: process.version,
      GitCommit: '',
      BuildTime: '',
      Os: process.platform,
      Arch: GOARCH[osArch()] ?? osArch(),
      Context: 'default',
    };
    let server: VersionJson | undefined;
    let serverErr: unknown;
    try {
      server = await cli.client().json<VersionJson>('GET', '/version');
    } catch (e) {
      serverErr = e;
    }
    const format = f.str('format');
    if (format !== undefined && format !== '') {
      await output(cli, format, versionView(client, server));
    } else {
      let s = `Client:${client.Platform.Name ? ` ${client.Platform.Name}` : ''}\n`;
      s += kv(' ', [
        ['Version', client.Version],
        ['API version', client.ApiVersion],
        ['Node.js version', client.NodeVersion],
        ['Git commit', client.GitCommit],
        ['Built', client.BuildTime],
        ['OS/Arch', `${client.Os}/${client.Arch}`],
        ['Context', client.Context],
      ]);
      if (server) {
        s += `\nServer:${server.Platform?.Name ? ` ${server.Platform.Name}` : ''}\n`;
        const components = server.Components ?? [{ Name: 'Engine', Version: server.Version ?? '', Details: {} }];
        for (const comp of components) {
          s += ` ${comp.Name}:\n`;
          const d = comp.Details ?? {};
          if (comp.Name === 'Engine') {
            s += kv('  ', [
              ['Version', comp.Version || server.Version || ''],
              ['API version', `${d.ApiVersion ?? server.ApiVersion ?? ''} (minimum version ${d.MinAPIVersion ?? server.MinAPIVersion ?? ''})`],
              ['Go version', d.GoVersion ?? server.GoVersion ?? ''],
              ['Git commit', d.GitCommit ?? server.GitCommit ?? ''],
              ['Built', d.BuildTime ?? server.BuildTime ?? ''],
              ['OS/Arch', `${d.Os ?? server.Os ?? ''}/${d.Arch ?? server.Arch ?? ''}`],
              ['Experimental', d.Experimental ?? String(server.Experimental ?? false)],
            ]);
          } else {
            s += kv('  ', [['Version', comp.Version], ...Object.keys(d).sort().map((k): [string, string] => [k, d[k] ?? ''])]);
          }
        }
      }
      cli.out(s);
    }
    if (serverErr !== undefined) throw serverErr;
    return 0;
  },
};

interface InfoJson {
  ID?: string;
  Containers?: number;
  ContainersRunning?: number;
  ContainersPaused?: number;
  ContainersStopped?: number;
  Images?: number;
  Driver?: string;
  DriverStatus?: [string, string][] | null;
  LoggingDriver?: string;
  CgroupDriver?: string;
  CgroupVersion?: string;
  Runtimes?: Record<string, unknown>;
  DefaultRuntime?: string;
  InitBinary?: string;
  SecurityOptions?: string[] | null;
  KernelVersion?: string;
  OperatingSystem?: string;
  OSType?: string;
  Architecture?: string;
  NCPU?: number;
  MemTotal?: number;
  Name?: string;
  DockerRootDir?: string;
  Debug?: boolean;
  ExperimentalBuild?: boolean;
  ServerVersion?: string;
  Labels?: string[] | null;
  LiveRestoreEnabled?: boolean;
  Warnings?: string[] | null;
  [k: string]: unknown;
}

function prettyInfo(i: InfoJson): string {
  let s = 'Server:\n';
  s += ` Containers: ${i.Containers ?? 0}\n  Running: ${i.ContainersRunning ?? 0}\n  Paused: ${i.ContainersPaused ?? 0}\n  Stopped: ${i.ContainersStopped ?? 0}\n`;
  s += ` Images: ${i.Images ?? 0}\n`;
  s += ` Server Version: ${i.ServerVersion ?? ''}\n`;
  s += ` Storage Driver: ${i.Driver ?? ''}\n`;
  for (const [k, v] of i.DriverStatus ?? []) s += `  ${k}: ${v}\n`;
  if (i.LoggingDriver) s += ` Logging Driver: ${i.LoggingDriver}\n`;
  if (i.CgroupDriver) s += ` Cgroup Driver: ${i.CgroupDriver}\n`;
  if (i.CgroupVersion) s += ` Cgroup Version: ${i.CgroupVersion}\n`;
  if (i.Runtimes) s += ` Runtimes: ${Object.keys(i.Runtimes).sort().join(' ')}\n`;
  if (i.DefaultRuntime) s += ` Default Runtime: ${i.DefaultRuntime}\n`;
  if (i.InitBinary) s += ` Init Binary: ${i.InitBinary}\n`;
  if (i.SecurityOptions && i.SecurityOptions.length > 0) {
    s += ' Security Options:\n';
    for (const o of i.SecurityOptions) {
      const parts = o.split(',');
      for (const p of parts) {
        const [k = '', v] = p.split('=');
        if (k === 'name') s += `  ${v}\n`;
        else if (v !== undefined) s += `   ${k.charAt(0).toUpperCase()}${k.slice(1)}: ${v}\n`;
        else s += `  ${p}\n`;
      }
    }
  }
  s += ` Kernel Version: ${i.KernelVersion ?? ''}\n`;
  s += ` Operating System: ${i.OperatingSystem ?? ''}\n`;
  s += ` OSType: ${i.OSType ?? ''}\n`;
  s += ` Architecture: ${i.Architecture ?? ''}\n`;
  s += ` CPUs: ${i.NCPU ?? 0}\n`;
  s += ` Total Memory: ${bytesSize(i.MemTotal ?? 0)}\n`;
  s += ` Name: ${i.Name ?? ''}\n`;
  s += ` ID: ${i.ID ?? ''}\n`;
  s += ` Berth Root Dir: ${i.DockerRootDir ?? ''}\n`;
  s += ` Debug Mode: ${i.Debug === true}\n`;
  if (i.Labels && i.Labels.length > 0) s += ` Labels:\n${i.Labels.map((l) => `  ${l}\n`).join('')}`;
  s += ` Experimental: ${i.ExperimentalBuild === true}\n`;
  s += ` Live Restore Enabled: ${i.LiveRestoreEnabled === true}\n`;
  return s;
}

export const info: CommandDef = {
  name: 'info',
  usage: '[OPTIONS]',
  description: 'Display system-wide information',
  flags: [{ long: 'format', short: 'f', kind: 'string', help: "Format output using a custom template: 'json' or a Go template" }],
  maxArgs: 0,
  async run(cli, f) {
    const format = f.str('format');
    let server: InfoJson | undefined;
    let serverErr: unknown;
    try {
      server = await cli.client().json<InfoJson>('GET', '/info');
    } catch (e) {
      serverErr = e;
    }
    if (format !== undefined && format !== '') {
      if (serverErr !== undefined) throw serverErr;
      await output(cli, format, server);
      return 0;
    }
    let s = `Client:\n${kv(' ', [
      ['Version', cliVersion()],
      ['Context', 'default'],
      ['Debug Mode', String(cli.debug)],
    ])}\n`;
    if (server) s += prettyInfo(server);
    cli.out(s);
    if (serverErr !== undefined) throw new StatusError(1, `${formatError(serverErr)}\nerrors pretty printing info`);
    for (const w of server?.Warnings ?? []) cli.err(`${w.startsWith('WARNING') ? w : `WARNING: ${w}`}\n`);
    return 0;
  },
};

interface EventMessage {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> | null };
  status?: string;
  id?: string;
  from?: string;
  time?: number;
  timeNano?: number;
  scope?: string;
}

/**
 * A message as docker's `--format` templates see it: its Go struct, events.Message, whose
 * fields `Status`, `ID`, `From`, `Scope`, `Time` and `TimeNano` travel as `status`, `id`,
 * `from`, `scope`, `time` and `timeNano`. The Go names are added unseen by `json`, which
 * prints the message as it came; a field the struct lacks is an error naming it, as in Go.
 */
export function eventView(e: EventMessage): EventMessage {
  const view: EventMessage = { ...e };
  const goFields = { Status: e.status ?? '', ID: e.id ?? '', From: e.from ?? '', Scope: e.scope ?? '', Time: e.time ?? 0, TimeNano: e.timeNano ?? 0, Type: e.Type ?? '', Action: e.Action ?? '', Actor: e.Actor ?? { ID: '', Attributes: null } };
  for (const [k, v] of Object.entries(goFields)) if (!Object.hasOwn(view, k)) Object.defineProperty(view, k, { value: v, enumerable: false });
  return asGoStruct(view, 'events.Message');
}

/** docker's default event line: `TIME TYPE ACTION ID (k=v, ...)`. */
export function eventLine(e: EventMessage): string {
  let s = '';
  if (e.timeNano) s += rfc3339NanoFixed(BigInt(e.timeNano));
  else if (e.time) s += rfc3339NanoFixed(BigInt(e.time) * 1_000_000_000n);
  s += ` ${e.Type ?? ''} ${e.Action ?? ''} ${e.Actor?.ID ?? ''}`;
  const attrs = e.Actor?.Attributes ?? {};
  const keys = Object.keys(attrs).sort();
  if (keys.length > 0) s += ` (${keys.map((k) => `${k}=${attrs[k]}`).join(', ')})`;
  return `${s}\n`;
}

export const events: CommandDef = {
  name: 'events',
  usage: '[OPTIONS]',
  description: 'Get real time events from the server',
  flags: [
    { long: 'filter', short: 'f', kind: 'list', type: 'filter', help: 'Filter output based on conditions provided' },
    { long: 'format', kind: 'string', help: "Format output using a custom template: 'json' or a Go template" },
    { long: 'since', kind: 'string', help: 'Show all events created since timestamp' },
    { long: 'until', kind: 'string', help: 'Stream events until this timestamp' },
  ],
  maxArgs: 0,
  async run(cli, f) {
    const now = new Date();
    const since = f.str('since');
    const until = f.str('until');
    // A time it cannot read: the reader's words alone, as docker prints them.
    const time = (v: string | undefined): string | undefined => {
      if (!v) return undefined;
      try {
        return getTimestamp(v, now);
      } catch (e) {
        throw new StatusError(1, errorMessage(e));
      }
    };
    const res = await cli.client().request('GET', '/events', {
      query: {
        since: time(since),
        until: time(until),
        filters: filtersJson(f.list('filter')),
      },
    });
    const format = f.str('format');
    let render: (e: EventMessage) => string = eventLine;
    if (format !== undefined && format !== '') {
      const { compileTemplate, formatOne } = await import('../format/index.js');
      if (format === 'json') render = (e) => formatOne('json', e);
      else {
        const t = compileTemplate(format);
        render = (e) => `${t(eventView(e))}\n`;
      }
    }
    for await (const m of jsonMessages(res.stream)) cli.out(render(m as EventMessage));
    return 0;
  },
};
