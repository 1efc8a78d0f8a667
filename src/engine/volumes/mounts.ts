import { posix } from 'node:path';
import { InvalidArgument } from '../../core/errors.js';
import type { MountPoint } from '../containers/types.js';
import { validVolumeName } from './service.js';

/**
 * A container's mounts from its create request, Docker's rules: `Binds` (`-v`), `Mounts`
 * (`--mount`), `Tmpfs` (`--tmpfs`), `VolumesFrom`, and the image's and `-v /path`'s anonymous
 * volumes for every `Config.Volumes` path nothing else covers. Pure: the result says which
 * volumes to create and which host directories to make; the caller does it.
 */

/** `--mount` as the Engine API carries it. */
export interface ApiMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean } | null;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> | null; DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

export interface MountInput {
  binds: readonly string[];
  mounts: readonly ApiMount[];
  tmpfs: Readonly<Record<string, string>>;
  /** `Config.Volumes`: image VOLUMEs and `-v /path`. */
  volumes: readonly string[];
  /** Mount points of `--volumes-from` containers, with the mode asked for (`:ro`/`:rw`). */
  from: readonly { mounts: readonly MountPoint[]; mode: 'ro' | 'rw' | '' }[];
}

export interface PlannedMount extends MountPoint {
  /** For volumes: create it (named: if missing; anonymous: always) with these options. */
  volumeCreate?: { labels?: Record<string, string>; driverOpts?: Record<string, string> };
  /** For `-v /host:/ctr`: make the host directory when it is missing (Docker's rule for -v, not --mount). */
  createSource?: boolean;
}

const PROPAGATIONS = new Set(['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate']);
const MODES = new Set(['ro', 'rw', 'z', 'Z', 'nocopy', 'consistent', 'cached', 'delegated', ...PROPAGATIONS]);

function cleanPath(p: string): string {
  const clean = posix.normalize(p);
  return clean.length > 1 ? clean.replace(/\/$/, '') : clean;
}

function absolute(path: string, spec: string, kind: string): string {
  if (!path.startsWith('/')) {
    throw new InvalidArgument(`invalid volume specification: '${spec}': invalid mount config for type "${kind}": invalid mount path: '${path}' mount path must be absolute`);
  }
  const clean = posix.normalize(path);
  return clean.length > 1 ? clean.replace(/\/$/, '') : clean;
}

/** One `-v` spec: `/host:/ctr[:opts]`, `name:/ctr[:opts]` or `/ctr` (anonymous). */
export function parseBind(spec: string): PlannedMount {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw new InvalidArgument(`invalid volume specification: '${spec}'`);
  if (parts.length === 1) {
    return { Type: 'volume', Name: '', Source: '', Destination: absolute(parts[0] ?? '', spec, 'volume'), Driver: 'local', Mode: '', RW: true, Propagation: '', Anonymous: true, CopyUp: true, volumeCreate: {} };
  }
  const [src = '', dst = '', modeRaw = ''] = parts;
  const modes = modeRaw === '' ? [] : modeRaw.split(',');
  for (const m of modes) if (!MODES.has(m)) throw new InvalidArgument(`invalid mode: ${m}`);
  if (modes.includes('ro') && modes.includes('rw')) throw new InvalidArgument(`invalid mode: ${modeRaw}`);
  const rw = !modes.includes('ro');
  const propagation = modes.find((m) => PROPAGATIONS.has(m));
  const destination = absolute(dst, spec, src.startsWith('/') ? 'bind' : 'volume');
  if (src.startsWith('/')) {
    if (modes.includes('nocopy')) throw new InvalidArgument(`invalid mode: nocopy`);
    return { Type: 'bind', Source: cleanPath(src), Destination: destination, Mode: modeRaw, RW: rw, Propagation: propagation ?? 'rprivate', createSource: true };
  }
  if (!validVolumeName(src)) {
    throw new InvalidArgument(
      `create ${src}: "${src}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
  if (propagation !== undefined) throw new InvalidArgument(`invalid mode: ${propagation}: propagation is for bind mounts`);
  return { Type: 'volume', Name: src, Source: '', Destination: destination, Driver: 'local', Mode: modeRaw === '' ? 'z' : modeRaw, RW: rw, Propagation: '', CopyUp: !modes.includes('nocopy'), volumeCreate: {} };
}

/** One `--mount`, as the Engine API's `HostConfig.Mounts` entry. */
export function parseApiMount(m: ApiMount): PlannedMount {
  const type = m.Type ?? 'volume';
  const target = m.Target ?? '';
  const where = `invalid mount config for type "${type}"`;
  if (target === '') throw new InvalidArgument(`${where}: field Target must not be empty`);
  if (!target.startsWith('/')) throw new InvalidArgument(`${where}: invalid mount path: '${target}' mount path must be absolute`);
  const destination = absolute(target, target, type);
  const rw = m.ReadOnly !== true;
  switch (type) {
    case 'bind': {
      const src = m.Source ?? '';
      if (src === '') throw new InvalidArgument(`${where}: field Source must not be empty`);
      if (!src.startsWith('/')) throw new InvalidArgument(`${where}: invalid mount path: '${src}' mount path must be absolute`);
      if (m.VolumeOptions) throw new InvalidArgument(`${where}: field VolumeOptions must not be specified`);
      if (m.TmpfsOptions) throw new InvalidArgument(`${where}: field TmpfsOptions must not be specified`);
      const prop = m.BindOptions?.Propagation || 'rprivate';
      if (!PROPAGATIONS.has(prop)) throw new InvalidArgument(`${where}: invalid propagation mode: ${prop}`);
      return { Type: 'bind', Source: cleanPath(src), Destination: destination, Mode: '', RW: rw, Propagation: prop, createSource: m.BindOptions?.CreateMountpoint === true };
    }
    case 'volume': {
      const name = m.Source ?? '';
      if (name !== '' && !validVolumeName(name)) throw new InvalidArgument(`${where}: invalid volume name "${name}"`);
      if (m.BindOptions) throw new InvalidArgument(`${where}: field BindOptions must not be specified`);
      if (m.TmpfsOptions) throw new InvalidArgument(`${where}: field TmpfsOptions must not be specified`);
      const vo = m.VolumeOptions ?? {};
      const driverOpts = vo.DriverConfig?.Options ?? undefined;
      return {
        Type: 'volume',
        Name: name,
        Source: '',
        Destination: destination,
        Driver: vo.DriverConfig?.Name || 'local',
        Mode: 'z',
        RW: rw,
        Propagation: '',
        CopyUp: vo.NoCopy !== true,
        ...(name === '' ? { Anonymous: true } : {}),
        volumeCreate: { ...(vo.Labels ? { labels: vo.Labels } : {}), ...(driverOpts ? { driverOpts } : {}) },
      };
    }
    case 'tmpfs': {
      if ((m.Source ?? '') !== '') throw new InvalidArgument(`${where}: field Source must not be specified`);
      const t = m.TmpfsOptions ?? {};
      return {
        Type: 'tmpfs',
        Source: '',
        Destination: destination,
        Mode: '',
        RW: rw,
        Propagation: '',
        TmpfsOptions: { ...(t.SizeBytes ? { SizeBytes: t.SizeBytes } : {}), ...(t.Mode ? { Mode: t.Mode } : {}) },
      };
    }
    default:
      throw new InvalidArgument(`invalid mount config: mount type unknown: "${type}"`);
  }
}

/** All of a container's mounts; a later source wins a destination only where Docker's order says so. */
export function planMounts(input: MountInput): PlannedMount[] {
  const byDest = new Map<string, PlannedMount>();
  const add = (m: PlannedMount) => {
    if (byDest.has(m.Destination)) throw new InvalidArgument(`Duplicate mount point: ${m.Destination}`);
    byDest.set(m.Destination, m);
  };
  for (const b of input.binds) add(parseBind(b));
  for (const m of input.mounts) add(parseApiMount(m));
  for (const [dst, opts] of Object.entries(input.tmpfs)) {
    const destination = absolute(dst, dst, 'tmpfs');
    const ro = opts.split(',').includes('ro');
    add({ Type: 'tmpfs', Source: '', Destination: destination, Mode: '', RW: !ro, Propagation: '', tmpfsData: opts });
  }
  // --volumes-from: the other container's mounts where nothing of this container's own is.
  for (const f of input.from) {
    for (const m of f.mounts) {
      if (byDest.has(m.Destination) || m.Type === 'tmpfs') continue;
      byDest.set(m.Destination, { ...m, RW: f.mode === 'ro' ? false : f.mode === 'rw' ? true : m.RW, Anonymous: false, CopyUp: false });
    }
  }
  // Image VOLUMEs and `-v /path`: anonymous volumes where nothing else is mounted.
  for (const v of input.volumes) {
    const destination = absolute(v, v, 'volume');
    if (byDest.has(destination)) continue;
    byDest.set(destination, { Type: 'volume', Name: '', Source: '', Destination: destination, Driver: 'local', Mode: '', RW: true, Propagation: '', Anonymous: true, CopyUp: true, volumeCreate: {} });
  }
  // Parents before children, so a mount inside another lands on top of it.
  return [...byDest.values()].sort((a, b) => a.Destination.split('/').length - b.Destination.split('/').length || a.Destination.localeCompare(b.Destination));
}

/**
 * `--tmpfs` options and `--mount type=tmpfs` sizes as mount(8) options, after Docker's
 * defaults for both: nosuid, nodev, noexec (`--tmpfs /t:exec` lifts the last).
 */
export function tmpfsOptions(m: MountPoint): string[] {
  const out = ['nosuid', 'nodev'];
  if (m.tmpfsData !== undefined) {
    const given = m.tmpfsData.split(',').filter(Boolean);
    if (!given.includes('exec')) out.push('noexec');
    out.push(...given.filter((o) => o !== 'exec'));
  } else {
    out.push('noexec');
    if (m.TmpfsOptions?.SizeBytes) out.push(`size=${m.TmpfsOptions.SizeBytes}`);
    if (m.TmpfsOptions?.Mode) out.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
  }
  if (!m.RW && !out.includes('ro')) out.push('ro');
  return out;
}
