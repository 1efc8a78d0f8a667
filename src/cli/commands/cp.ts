/** cp: files between a container and the local filesystem, as the docker CLI copies them. */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { EngineClient } from '../../client/index.js';
import { decodePathStat, FileMode, hasModeBit, isAbsPath, joinPath, PATH_STAT_HEADER, splitPathDirEntry, getRebaseName, type ContainerPathStat } from '../../core/copypath.js';
import { errorMessage } from '../../core/errors.js';
import { StatusError, type Cli, type CommandDef } from '../context.js';
import { humanSizeWithPrecision } from '../units.js';

const c = (name: string) => `/containers/${encodeURIComponent(name)}`;

/**
 * docker's `splitCpArg`: `CONTAINER:PATH`, unless the argument is an absolute local path or
 * starts with `.` (`./file:name.txt` is local).
 */
export function splitCpArg(arg: string): [container: string, path: string] {
  if (isAbsPath(arg)) return ['', arg];
  const i = arg.indexOf(':');
  if (i < 0 || arg.startsWith('.')) return ['', arg];
  return [arg.slice(0, i), arg.slice(i + 1)];
}

interface CpConfig {
  followLink: boolean;
  copyUIDGID: boolean;
  quiet: boolean;
  sourcePath: string;
  destPath: string;
  container: string;
}

/** `HEAD /containers/{id}/archive`: the stat of a path in the container. */
async function statPath(client: EngineClient, container: string, path: string): Promise<ContainerPathStat> {
  const res = await client.request('HEAD', `${c(container)}/archive`, { query: { path } });
  res.stream.resume();
  const h = res.headers[PATH_STAT_HEADER.toLowerCase()];
  return decodePathStat(typeof h === 'string' ? h : '');
}

const isDirMode = (mode: number): boolean => hasModeBit(mode, FileMode.Dir);
const isSymlinkMode = (mode: number): boolean => hasModeBit(mode, FileMode.Symlink);

function progressHumanSize(n: number): string {
  return humanSizeWithPrecision(n, 3);
}

async function copyFromContainer(cli: Cli, cfg: CpConfig): Promise<void> {
  const { copyTo, Counter, resolveLocalPath, rebaseArchiveEntries, validateOutputPath } = await import('../cp-archive.js');
  let dstPath = cfg.destPath;
  let srcPath = cfg.sourcePath;
  if (dstPath !== '-') dstPath = resolveLocalPath(dstPath);
  await validateOutputPath(dstPath).catch((e: unknown) => Promise.reject(new StatusError(1, errorMessage(e))));
  const client = cli.client();
  // -L: a symlink source is copied as what it points to, under the symlink's name.
  let rebaseName = '';
  if (cfg.followLink) {
    const st = await statPath(client, cfg.container, srcPath).catch(() => undefined);
    if (st !== undefined && isSymlinkMode(st.mode)) {
      let linkTarget = st.linkTarget;
      if (!isAbsPath(linkTarget)) linkTarget = joinPath(splitPathDirEntry(srcPath)[0], linkTarget);
      [srcPath, rebaseName] = getRebaseName(srcPath, linkTarget);
    }
  }
  const res = await client.request('GET', `${c(cfg.container)}/archive`, { query: { path: srcPath } });
  const header = res.headers[PATH_STAT_HEADER.toLowerCase()];
  const stat = decodePathStat(typeof header === 'string' ? header : '');
  if (dstPath === '-') {
    await pipeline(res.stream, cli.io.stdout, { end: false });
    return;
  }
  const srcInfo = { path: srcPath, exists: true, isDir: isDirMode(stat.mode), rebaseName };
  const counter = new Counter();
  let content: NodeJS.ReadableStream = res.stream.pipe(counter);
  res.stream.on('error', (e) => counter.destroy(e));
  if (rebaseName !== '') content = rebaseArchiveEntries(content, splitPathDirEntry(srcInfo.path)[1], rebaseName);
  let failure: unknown;
  try {
    await copyTo(content, srcInfo, dstPath, cfg.copyUIDGID);
  } catch (e) {
    failure = e;
  }
  // The docker CLI (28) prints the summary even when the copy failed, then the error.
  if (!cfg.quiet) cli.err(`Successfully copied ${progressHumanSize(counter.bytes)} to ${dstPath}\n`);
  if (failure !== undefined) throw new StatusError(1, errorMessage(failure));
}

async function copyToContainer(cli: Cli, cfg: CpConfig): Promise<void> {
  const { copyInfoSourcePath, Counter, prepareArchiveCopy, resolveLocalPath, tarResource } = await import('../cp-archive.js');
  let srcPath = cfg.sourcePath;
  const dstPath = cfg.destPath;
  if (srcPath !== '-') srcPath = resolveLocalPath(srcPath);
  const client = cli.client();
  // What the destination is decides how the archive is shaped (and where it is extracted).
  const dstInfo = { path: dstPath, exists: false, isDir: false, rebaseName: '' };
  let dstStat = await statPath(client, cfg.container, dstPath).catch(() => undefined);
  if (dstStat !== undefined && isSymlinkMode(dstStat.mode)) {
    let linkTarget = dstStat.linkTarget;
    if (!isAbsPath(linkTarget)) linkTarget = joinPath(splitPathDirEntry(dstPath)[0], linkTarget);
    dstInfo.path = linkTarget;
    dstStat = await statPath(client, cfg.container, linkTarget).catch(() => undefined);
  }
  if (dstStat !== undefined) {
    const mode = dstStat.mode;
    const why = hasModeBit(mode, FileMode.Device) ? 'got a device' : hasModeBit(mode, FileMode.Irregular) ? 'got an irregular file' : undefined;
    if (why !== undefined) throw new StatusError(1, `destination "${cfg.container}:${dstPath}" must be a directory or a regular file: ${why}`);
    dstInfo.exists = true;
    dstInfo.isDir = isDirMode(mode);
  }
  let content: NodeJS.ReadableStream;
  let resolvedDstPath: string;
  const counter = new Counter();
  if (srcPath === '-') {
    if (!dstInfo.isDir) throw new StatusError(1, `destination "${cfg.container}:${dstPath}" must be a directory`);
    content = cli.io.stdin();
    resolvedDstPath = dstInfo.path;
  } else {
    try {
      const srcInfo = await copyInfoSourcePath(srcPath, cfg.followLink);
      const archive = await tarResource(srcInfo);
      const [dstDir, prepared] = prepareArchiveCopy(archive, srcInfo, dstInfo);
      resolvedDstPath = dstDir;
      if (!cfg.quiet) prepared.on('error', (e: Error) => counter.destroy(e));
      content = cfg.quiet ? prepared : prepared.pipe(counter);
    } catch (e) {
      throw new StatusError(1, errorMessage(e));
    }
  }
  const put = () =>
    client.call('PUT', `${c(cfg.container)}/archive`, {
      query: { path: resolvedDstPath, noOverwriteDirNonDir: 'true', copyUIDGID: cfg.copyUIDGID ? 'true' : undefined },
      body: content as Readable,
    });
  if (cfg.quiet) {
    await put();
    return;
  }
  let failure: unknown;
  try {
    await put();
  } catch (e) {
    failure = e;
  }
  cli.err(`Successfully copied ${progressHumanSize(counter.bytes)} to ${cfg.container}:${dstInfo.path}\n`);
  if (failure !== undefined) throw failure;
}

export const cp: CommandDef = {
  name: 'cp',
  usage: '[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  description:
    "Copy files/folders between a container and the local filesystem\n\nUse '-' as the source to read a tar archive from stdin\nand extract it to a directory destination in a container.\nUse '-' as the destination to stream a tar archive of a\ncontainer source to stdout.",
  flags: [
    { long: 'archive', short: 'a', kind: 'bool', help: 'Archive mode (copy all uid/gid information)' },
    { long: 'follow-link', short: 'L', kind: 'bool', help: 'Always follow symbol link in SRC_PATH' },
    { long: 'quiet', short: 'q', kind: 'bool', help: 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached' },
  ],
  minArgs: 2,
  maxArgs: 2,
  async run(cli, f, args) {
    const [source = '', destination = ''] = args;
    if (source === '') throw new StatusError(1, 'source can not be empty');
    if (destination === '') throw new StatusError(1, 'destination can not be empty');
    // Without -q the summary line is printed only when the output is a terminal (docker: "progress output").
    const quiet = f.changed('quiet') ? f.bool('quiet') : cli.io.stdout.isTTY !== true;
    const [srcContainer, srcPath] = splitCpArg(source);
    const [dstContainer, dstPath] = splitCpArg(destination);
    const cfg: CpConfig = { followLink: f.bool('follow-link'), copyUIDGID: f.bool('archive'), quiet, sourcePath: srcPath, destPath: dstPath, container: '' };
    if (srcContainer !== '' && dstContainer !== '') throw new StatusError(1, 'copying between containers is not supported');
    if (srcContainer !== '') await copyFromContainer(cli, { ...cfg, container: srcContainer });
    else if (dstContainer !== '') await copyToContainer(cli, { ...cfg, container: dstContainer });
    else throw new StatusError(1, 'must specify at least one container source');
    return 0;
  },
};
