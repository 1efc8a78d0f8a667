/**
 * The command table: names, aliases and one-line summaries, with lazy loaders so
 * that only the module of the command being run is imported.
 */
import type { CommandDef } from './context.js';

type Loader = () => Promise<CommandDef>;

interface Entry {
  summary: string;
  load: Loader;
}

const lifecycle = () => import('./commands/lifecycle.js');
const misc = () => import('./commands/container-misc.js');
const images = () => import('./commands/images.js');
const imageIo = () => import('./commands/image-io.js');
const system = () => import('./commands/system.js');
const inspect = () => import('./commands/inspect.js');
const prune = () => import('./commands/prune.js');
const network = () => import('./commands/network.js');
const registryCmds = () => import('./commands/registry.js');
const volume = () => import('./commands/volume.js');
const manifest = () => import('./commands/manifest.js');

/** Top-level commands (docker's shortcuts) by name. */
export const COMMANDS: Readonly<Record<string, Entry>> = {
  attach: { summary: "Attach local standard input, output, and error streams to a running container", load: async () => (await import('./commands/attach.js')).attach },
  commit: { summary: "Create a new image from a container's changes", load: async () => (await misc()).commit },
  cp: { summary: 'Copy files/folders between a container and the local filesystem', load: async () => (await import('./commands/cp.js')).cp },
  create: { summary: 'Create a new container', load: async () => (await import('./commands/run.js')).create },
  daemon: { summary: 'Run the berth daemon (or `daemon stop` it)', load: async () => (await import('./commands/daemon.js')).daemon },
  diff: { summary: "Inspect changes to files or directories on a container's filesystem", load: async () => (await misc()).diff },
  events: { summary: 'Get real time events from the server', load: async () => (await system()).events },
  exec: { summary: 'Execute a command in a running container', load: async () => (await import('./commands/exec.js')).exec },
  export: { summary: "Export a container's filesystem as a tar archive", load: async () => (await misc()).exportCmd },
  history: { summary: 'Show the history of an image', load: async () => (await images()).history },
  images: { summary: 'List images', load: async () => (await images()).images },
  import: { summary: 'Import the contents from a tarball to create a filesystem image', load: async () => (await imageIo()).importCmd },
  info: { summary: 'Display system-wide information', load: async () => (await system()).info },
  inspect: { summary: 'Return low-level information on berth objects', load: async () => (await inspect()).inspect },
  kill: { summary: 'Kill one or more running containers', load: async () => (await lifecycle()).kill },
  load: { summary: 'Load an image from a tar archive or STDIN', load: async () => (await imageIo()).load },
  logs: { summary: 'Fetch the logs of a container', load: async () => (await import('./commands/logs.js')).logs },
  pause: { summary: 'Pause all processes within one or more containers', load: async () => (await lifecycle()).pause },
  port: { summary: 'List port mappings or a specific mapping for the container', load: async () => (await misc()).port },
  ps: { summary: 'List containers', load: async () => (await import('./commands/ps.js')).ps },
  login: { summary: 'Authenticate to a registry', load: async () => (await registryCmds()).login },
  logout: { summary: 'Log out from a registry', load: async () => (await registryCmds()).logout },
  pull: { summary: 'Download an image from a registry', load: async () => (await registryCmds()).pull },
  push: { summary: 'Upload an image to a registry', load: async () => (await registryCmds()).push },
  rename: { summary: 'Rename a container', load: async () => (await lifecycle()).rename },
  restart: { summary: 'Restart one or more containers', load: async () => (await lifecycle()).restart },
  rm: { summary: 'Remove one or more containers', load: async () => (await lifecycle()).rm },
  rmi: { summary: 'Remove one or more images', load: async () => (await images()).rmi },
  run: { summary: 'Create and run a new container from an image', load: async () => (await import('./commands/run.js')).run },
  save: { summary: 'Save one or more images to a tar archive (streamed to STDOUT by default)', load: async () => (await imageIo()).save },
  start: { summary: 'Start one or more stopped containers', load: async () => (await import('./commands/start.js')).start },
  stats: { summary: 'Display a live stream of container(s) resource usage statistics', load: async () => (await import('./commands/stats.js')).stats },
  stop: { summary: 'Stop one or more running containers', load: async () => (await lifecycle()).stop },
  tag: { summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', load: async () => (await images()).tag },
  top: { summary: 'Display the running processes of a container', load: async () => (await misc()).top },
  unpause: { summary: 'Unpause all processes within one or more containers', load: async () => (await lifecycle()).unpause },
  version: { summary: 'Show the berth version information', load: async () => (await system()).version },
  update: { summary: 'Update configuration of one or more containers', load: async () => (await import('./commands/update.js')).update },
  wait: { summary: 'Block until one or more containers stop, then print their exit codes', load: async () => (await lifecycle()).wait },
};

/** Management commands: `berth container ls` → the `ps` command, etc. */
export const MANAGEMENT: Readonly<Record<string, { summary: string; commands: Readonly<Record<string, Entry>> }>> = {
  container: {
    summary: 'Manage containers',
    commands: {
      attach: COMMANDS.attach as Entry,
      commit: COMMANDS.commit as Entry,
      cp: COMMANDS.cp as Entry,
      create: COMMANDS.create as Entry,
      diff: COMMANDS.diff as Entry,
      exec: COMMANDS.exec as Entry,
      export: COMMANDS.export as Entry,
      inspect: { summary: 'Display detailed information on one or more containers', load: async () => (await inspect()).containerInspect },
      kill: COMMANDS.kill as Entry,
      logs: COMMANDS.logs as Entry,
      ls: { summary: 'List containers', load: async () => (await import('./commands/ps.js')).ps },
      pause: COMMANDS.pause as Entry,
      port: COMMANDS.port as Entry,
      prune: { summary: 'Remove all stopped containers', load: async () => (await prune()).containerPrune },
      rename: COMMANDS.rename as Entry,
      restart: COMMANDS.restart as Entry,
      rm: COMMANDS.rm as Entry,
      run: COMMANDS.run as Entry,
      start: COMMANDS.start as Entry,
      stats: COMMANDS.stats as Entry,
      stop: COMMANDS.stop as Entry,
      top: COMMANDS.top as Entry,
      unpause: COMMANDS.unpause as Entry,
      update: COMMANDS.update as Entry,
      wait: COMMANDS.wait as Entry,
    },
  },
  image: {
    summary: 'Manage images',
    commands: {
      history: COMMANDS.history as Entry,
      import: COMMANDS.import as Entry,
      inspect: { summary: 'Display detailed information on one or more images', load: async () => (await inspect()).imageInspect },
      load: COMMANDS.load as Entry,
      ls: { summary: 'List images', load: async () => (await images()).images },
      prune: { summary: 'Remove unused images', load: async () => (await prune()).imagePrune },
      pull: COMMANDS.pull as Entry,
      push: COMMANDS.push as Entry,
      rm: { summary: 'Remove one or more images', load: async () => (await images()).rmi },
      save: COMMANDS.save as Entry,
      tag: COMMANDS.tag as Entry,
    },
  },
  manifest: {
    summary: 'Manage Docker image manifests and manifest lists',
    commands: {
      annotate: { summary: 'Add additional information to a local image manifest', load: async () => (await manifest()).manifestAnnotate },
      create: { summary: 'Create a local manifest list for annotating and pushing to a registry', load: async () => (await manifest()).manifestCreate },
      inspect: { summary: 'Display an image manifest, or manifest list', load: async () => (await manifest()).manifestInspect },
      push: { summary: 'Push a manifest list to a repository', load: async () => (await manifest()).manifestPush },
      rm: { summary: 'Delete one or more manifest lists from local storage', load: async () => (await manifest()).manifestRm },
    },
  },
  network: {
    summary: 'Manage networks',
    commands: {
      connect: { summary: 'Connect a container to a network', load: async () => (await network()).networkConnect },
      create: { summary: 'Create a network', load: async () => (await network()).networkCreate },
      disconnect: { summary: 'Disconnect a container from a network', load: async () => (await network()).networkDisconnect },
      inspect: { summary: 'Display detailed information on one or more networks', load: async () => (await network()).networkInspect },
      ls: { summary: 'List networks', load: async () => (await network()).networkLs },
      prune: { summary: 'Remove all unused networks', load: async () => (await network()).networkPrune },
      rm: { summary: 'Remove one or more networks', load: async () => (await network()).networkRm },
    },
  },
  system: {
    summary: 'Manage berth',
    commands: {
      df: { summary: 'Show berth disk usage', load: async () => (await import('./commands/df.js')).systemDf },
      events: COMMANDS.events as Entry,
      info: COMMANDS.info as Entry,
      prune: { summary: 'Remove unused data', load: async () => (await prune()).systemPrune },
    },
  },
  volume: {
    summary: 'Manage volumes',
    commands: {
      create: { summary: 'Create a volume', load: async () => (await volume()).volumeCreate },
      inspect: { summary: 'Display detailed information on one or more volumes', load: async () => (await volume()).volumeInspect },
      ls: { summary: 'List volumes', load: async () => (await volume()).volumeLs },
      prune: { summary: 'Remove unused local volumes', load: async () => (await prune()).volumePrune },
      rm: { summary: 'Remove one or more volumes', load: async () => (await volume()).volumeRm },
    },
  },
};

/** Aliases within management commands (docker's `ls`/`list`/`ps`, `rm`/`remove`). */
const ALIASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  container: { list: 'ls', ps: 'ls', remove: 'rm' },
  image: { list: 'ls', remove: 'rm' },
  network: { list: 'ls', remove: 'rm' },
  volume: { list: 'ls', remove: 'rm' },
};

export interface Resolved {
  /** `run`, `container ls` ... as typed (after alias resolution). */
  path: string;
  entry: Entry;
  /** Arguments after the command path. */
  rest: string[];
}

/** Finds the command for `args` (global flags already removed); undefined when unknown. */
export function resolveCommand(args: readonly string[]): Resolved | { management: string; rest: string[] } | undefined {
  const [first, second, ...more] = args;
  if (first === undefined) return undefined;
  const group = MANAGEMENT[first];
  if (group) {
    if (second === undefined || second.startsWith('-')) return { management: first, rest: args.slice(1) };
    const name = ALIASES[first]?.[second] ?? second;
    const entry = group.commands[name];
    if (!entry) return undefined;
    return { path: `${first} ${second}`, entry, rest: more };
  }
  const entry = COMMANDS[first];
  if (!entry) return undefined;
  return { path: first, entry, rest: args.slice(1) };
}

export function topLevelHelp(): string {
  const width = 10;
  let s = '\nUsage:  berth [OPTIONS] COMMAND\n\nA Docker-compatible container platform\n\nCommon Commands:\n';
  for (const name of ['run', 'exec', 'ps', 'images', 'pull', 'push', 'login', 'logout', 'logs', 'inspect', 'version', 'info']) {
    s += `  ${name.padEnd(width)}${COMMANDS[name]?.summary}\n`;
  }
  s += '\nManagement Commands:\n';
  for (const [name, m] of Object.entries(MANAGEMENT)) s += `  ${name.padEnd(width)}${m.summary}\n`;
  s += '\nCommands:\n';
  for (const [name, e] of Object.entries(COMMANDS)) {
    if (['run', 'exec', 'ps', 'images', 'pull', 'push', 'login', 'logout', 'logs', 'inspect', 'version', 'info'].includes(name)) continue;
    s += `  ${name.padEnd(width)}${e.summary}\n`;
  }
  s +=
    '\nGlobal Options:\n' +
    '  -D, --debug              Enable debug mode\n' +
    '  -H, --host string        Daemon socket to connect to (unix:///path; default unix:///run/berth/berth.sock, or $BERTH_HOST)\n' +
    '  -l, --log-level string   Set the logging level (ignored by the client)\n' +
    '  -v, --version            Print version information and quit\n' +
    "\nRun 'berth COMMAND --help' for more information on a command.\n";
  return s;
}

export function managementHelp(name: string): string {
  const group = MANAGEMENT[name];
  if (!group) return topLevelHelp();
  let s = `\nUsage:  berth ${name} COMMAND\n\n${group.summary}\n\nCommands:\n`;
  // cobra's layout: names padded to the longest (at least 11), then one space.
  const width = Math.max(11, ...Object.keys(group.commands).map((n) => n.length));
  for (const [sub, e] of Object.entries(group.commands)) s += `  ${sub.padEnd(width)} ${e.summary}\n`;
  s += `\nRun 'berth ${name} COMMAND --help' for more information on a command.\n`;
  return s;
}
