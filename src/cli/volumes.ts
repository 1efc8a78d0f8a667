/**
 * The pure side of `berth volume ...`: the POST /volumes/create body the docker CLI sends
 * (cli/command/volume/create.go), the `volume ls` rows, formats and order of its formatter
 * (cli/command/formatter/volume.go), `volume inspect`'s JSON as the docker CLI re-encodes it,
 * and the prune prompts and reports (cli/command/volume/prune.go).
 */
import { formatRows } from './format/index.js';
import { kvMap, labelMap } from './networks.js';
import { withLabelMethod } from './rows.js';
import { naturalCompare } from './sortorder.js';
import { humanSize } from './units.js';

// ---------------------------------------------------------------- API shapes

/** A volume as GET /volumes, GET /volumes/{name} and GET /system/df return it. */
export interface VolumeResource {
  Name: string;
  Driver?: string;
  Mountpoint?: string;
  CreatedAt?: string;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
  Scope?: string;
  Status?: Record<string, unknown> | null;
  UsageData?: { Size: number; RefCount: number } | null;
  ClusterVolume?: unknown;
}

/** POST /volumes/create (Docker's `volume.CreateOptions`, without cluster volumes). */
export interface VolumeCreateRequest {
  Driver: string;
  DriverOpts: Record<string, string>;
  Labels: Record<string, string>;
  Name: string;
}

/**
 * The body of POST /volumes/create for `volume create [-d DRIVER] [-o k=v] [--label k=v] [NAME]`;
 * a bad `--label` throws UsageError with pflag's words.
 */
export function volumeCreateRequest(name: string, f: { driver: string; opts: readonly string[]; labels: readonly string[] }): VolumeCreateRequest {
  // Maps in Go's JSON order (sorted keys): the same bytes the docker CLI sends.
  const labels = labelMap(f.labels, 'volume create');
  return { Driver: f.driver, DriverOpts: sortedMap(kvMap(f.opts)), Labels: sortedMap(labels), Name: name };
}

function sortedMap(m: Readonly<Record<string, string>>): Record<string, string>;
function sortedMap(m: Readonly<Record<string, string>> | null | undefined): Record<string, string> | null;
function sortedMap(m: Readonly<Record<string, string>> | null | undefined): Record<string, string> | null {
  if (m === null || m === undefined) return null;
  const out: Record<string, string> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k] as string;
  return out;
}

/**
 * A volume as the docker CLI prints it in `volume inspect`: decoded into its `volume.Volume`
 * struct and encoded again, so fields come in struct order, maps sorted, empty optional
 * fields (`Status`, `UsageData`, `ClusterVolume`) left out and missing maps `null`.
 */
export function volumeInspectView(v: VolumeResource): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (v.ClusterVolume !== undefined && v.ClusterVolume !== null) out.ClusterVolume = v.ClusterVolume;
  out.CreatedAt = v.CreatedAt ?? '';
  out.Driver = v.Driver ?? '';
  out.Labels = sortedMap(v.Labels);
  out.Mountpoint = v.Mountpoint ?? '';
  out.Name = v.Name;
  out.Options = sortedMap(v.Options);
  out.Scope = v.Scope ?? '';
  if (v.Status !== undefined && v.Status !== null && Object.keys(v.Status).length > 0) out.Status = v.Status;
  if (v.UsageData !== undefined && v.UsageData !== null) out.UsageData = v.UsageData;
  return out;
}

/**
 * `inspect.Inspect` output for found objects: an indented JSON array (`[]` for none), a
 * compact JSON array for `-f json`, else the template once per object.
 */
export async function renderInspect(found: readonly unknown[], format: string | undefined): Promise<string> {
  if (format === undefined || format === '') return found.length === 0 ? '[]\n' : `${JSON.stringify(found, null, 4)}\n`;
  const { formatOne } = await import('./format/index.js');
  if (format === 'json') return formatOne('json', found);
  return found.map((v) => formatOne(format, v)).join('');
}

// ---------------------------------------------------------------- volume ls

/** What `volume ls --format` templates see; keys in JSON order (Go marshals the map sorted). */
export interface VolumeRow {
  Availability: string;
  Driver: string;
  Group: string;
  Labels: string;
  Links: string;
  Mountpoint: string;
  Name: string;
  Scope: string;
  Size: string;
  Status: string;
}

export const VOLUME_TABLE = 'table {{.Driver}}\t{{.Name}}';

export const VOLUME_HEADERS: Readonly<Record<string, string>> = {
  ID: 'ID',
  Name: 'VOLUME NAME',
  Group: 'GROUP',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  Availability: 'AVAILABILITY',
  Mountpoint: 'MOUNTPOINT',
  Labels: 'LABELS',
  Links: 'LINKS',
  Size: 'SIZE',
  Status: 'STATUS',
};

/** `volumeContext`: `Links`/`Size` from `UsageData` (only `system df -v` has it), else `N/A`. */
export function volumeRow(v: VolumeResource): VolumeRow {
  const labels = v.Labels ?? {};
  return withLabelMethod({
    Availability: 'N/A',
    Driver: v.Driver ?? '',
    Group: 'N/A',
    // Go ranges over the map in random order; sorted here so output is stable.
    Labels: Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(','),
    Links: v.UsageData ? String(v.UsageData.RefCount) : 'N/A',
    Mountpoint: v.Mountpoint ?? '',
    Name: v.Name,
    Scope: v.Scope ?? '',
    Size: v.UsageData ? humanSize(v.UsageData.Size) : 'N/A',
    Status: 'N/A',
  }, labels);
}

/** The volume formatter's `NewVolumeFormat`: what `table`/`raw` mean, with and without `-q`. */
export function volumeListFormat(format: string | undefined, quiet: boolean): string {
  const source = format === undefined || format === '' ? 'table' : format;
  if (source === 'table') return quiet ? '{{.Name}}' : VOLUME_TABLE;
  if (source === 'raw') return quiet ? 'name: {{.Name}}' : 'name: {{.Name}}\\ndriver: {{.Driver}}\\n';
  return source;
}

/** `volume ls` output: the daemon's list sorted naturally by name, then formatted. */
export function renderVolumeList(list: readonly VolumeResource[], o: { format?: string | undefined; quiet: boolean }): string {
  const sorted = [...list].sort((a, b) => naturalCompare(a.Name, b.Name));
  return formatRows(volumeListFormat(o.format, o.quiet), sorted.map(volumeRow), { table: VOLUME_TABLE, headers: VOLUME_HEADERS, context: '*formatter.volumeContext' });
}

// ---------------------------------------------------------------- volume prune

export const VOLUME_PRUNE_WARNING = 'WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?';
export const VOLUME_PRUNE_ALL_WARNING = 'WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?';

/**
 * A pruner's result as the docker CLI's `RunPrune` functions return it: the space reclaimed
 * and the text to print (`Deleted Volumes:` and one line per object), empty for nothing.
 */
export interface PruneResult {
  reclaimed: number;
  output: string;
}

/** `Deleted <what>:` and one line per entry; the space counts only when something went. */
export function pruneResult(title: string, lines: readonly string[] | null | undefined, reclaimed: number | undefined): PruneResult {
  const list = lines ?? [];
  if (list.length === 0) return { reclaimed: 0, output: '' };
  return { reclaimed: reclaimed ?? 0, output: `${title}\n${list.map((l) => `${l}\n`).join('')}` };
}

/** What a prune command prints: the output (Fprintln: one more newline), then the total. */
export function pruneSummary(results: readonly PruneResult[]): string {
  let s = '';
  let total = 0;
  for (const r of results) {
    total += r.reclaimed;
    if (r.output !== '') s += `${r.output}\n`;
  }
  return `${s}Total reclaimed space: ${humanSize(total)}\n`;
}
