/**
 * The pure side of `berth system df` and `berth system prune`: the docker CLI's disk usage
 * formatter (cli/command/formatter/disk_usage.go, docker 28) over GET /system/df, with its
 * summary sums (TYPE TOTAL ACTIVE SIZE RECLAIMABLE), the `-v` sections and its `--format`
 * rules, and the confirmation text of `system prune` (cli/command/system/prune.go).
 */
import { parseReference, familiarName } from '../core/reference.js';
import { compileTemplate, formatRows } from './format/index.js';
import { goJSON } from './format/functions.js';
import { escapeHtml } from './format/rows.js';
import { asGoStruct } from './format/values.js';
import { IMAGES_HEADERS, PS_HEADERS, containerRow, imageRow, isDanglingImage, type ContainerSummary, type ImageSummary } from './rows.js';
import { naturalCompare } from './sortorder.js';
import { goTimeStringRfc3339 } from './times.js';
import { humanDuration, humanSize, humanSizeWithPrecision, truncateId } from './units.js';
import { VOLUME_HEADERS, volumeRow, type VolumeResource } from './volumes.js';

// ---------------------------------------------------------------- API shapes

/** A build cache record of GET /system/df (`build.CacheRecord`). */
export interface BuildCacheRecord {
  ID: string;
  Parents?: string[] | null;
  Type?: string;
  Description?: string;
  InUse?: boolean;
  Shared?: boolean;
  Size?: number;
  CreatedAt?: string;
  LastUsedAt?: string | null;
  UsageCount?: number;
}

/** GET /system/df (`types.DiskUsage`). */
export interface DiskUsage {
  LayersSize?: number;
  Images?: ImageSummary[] | null;
  Containers?: ContainerSummary[] | null;
  Volumes?: VolumeResource[] | null;
  BuildCache?: BuildCacheRecord[] | null;
}

// ---------------------------------------------------------------- summary

/** One line of the `system df` summary; keys in JSON order. */
export interface DiskUsageRow {
  Active: string;
  Reclaimable: string;
  Size: string;
  TotalCount: string;
  Type: string;
}

export const DISK_USAGE_TABLE = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';

export const DISK_USAGE_HEADERS: Readonly<Record<string, string>> = {
  Type: 'TYPE',
  TotalCount: 'TOTAL',
  Active: 'ACTIVE',
  Size: 'SIZE',
  Reclaimable: 'RECLAIMABLE',
};

/** `X (P%)` of a total, Go's integer division; just `X` when the total is 0. */
function withPercent(reclaimable: number, total: number): string {
  if (total > 0) return `${humanSize(reclaimable)} (${Math.trunc((reclaimable * 100) / total)}%)`;
  return humanSize(reclaimable);
}

/** `isActive` of the containers line: running, paused or restarting. */
function containerActive(c: ContainerSummary): boolean {
  const s = c.State ?? '';
  return s.includes('running') || s.includes('paused') || s.includes('restarting');
}

/** The build cache size `system df` shows: records not shared with other builds. */
export function builderSize(cache: readonly BuildCacheRecord[]): number {
  return cache.reduce((n, bc) => (bc.Shared === true ? n : n + (bc.Size ?? 0)), 0);
}

/**
 * The four summary lines (Images, Containers, Local Volumes, Build Cache) with docker's sums:
 * an image is active with containers and its unique size (size - shared) is not reclaimable;
 * a container's writable layer is reclaimable unless it is running, paused or restarting;
 * a volume's size is reclaimable without references (sizes of -1, unknown, are skipped);
 * build cache in use (and not shared) is not reclaimable.
 */
export function diskUsageSummary(du: DiskUsage): DiskUsageRow[] {
  const images = du.Images ?? [];
  const containers = du.Containers ?? [];
  const volumes = du.Volumes ?? [];
  const cache = du.BuildCache ?? [];

  const layers = du.LayersSize ?? 0;
  let imagesUsed = 0;
  for (const i of images) {
    const size = i.Size ?? 0;
    const shared = i.SharedSize ?? 0;
    if ((i.Containers ?? 0) !== 0 && size !== -1 && shared !== -1) imagesUsed += size - shared;
  }

  let containersSize = 0;
  let containersReclaimable = 0;
  for (const c of containers) {
    containersSize += c.SizeRw ?? 0;
    if (!containerActive(c)) containersReclaimable += c.SizeRw ?? 0;
  }

  let volumesSize = 0;
  let volumesReclaimable = 0;
  for (const v of volumes) {
    const size = v.UsageData?.Size ?? 0;
    if (size === -1) continue;
    volumesSize += size;
    if ((v.UsageData?.RefCount ?? 0) === 0) volumesReclaimable += size;
  }

  const bsz = builderSize(cache);
  const cacheInUse = cache.reduce((n, bc) => (bc.InUse === true && bc.Shared !== true ? n + (bc.Size ?? 0) : n), 0);

  return [
    asGoStruct({
      Active: String(images.filter((i) => (i.Containers ?? 0) > 0).length),
      Reclaimable: withPercent(layers - imagesUsed, layers),
      Size: humanSize(layers),
      TotalCount: String(images.length),
      Type: 'Images',
    }, '*formatter.diskUsageImagesContext'),
    asGoStruct({
      Active: String(containers.filter(containerActive).length),
      Reclaimable: withPercent(containersReclaimable, containersSize),
      Size: humanSize(containersSize),
      TotalCount: String(containers.length),
      Type: 'Containers',
    }, '*formatter.diskUsageContainersContext'),
    asGoStruct({
      Active: String(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length),
      Reclaimable: withPercent(volumesReclaimable, volumesSize),
      Size: humanSize(volumesSize),
      TotalCount: String(volumes.length),
      Type: 'Local Volumes',
    }, '*formatter.diskUsageVolumesContext'),
    asGoStruct({
      Active: String(cache.filter((bc) => bc.InUse === true).length),
      Reclaimable: humanSize(bsz - cacheInUse),
      Size: humanSize(bsz),
      TotalCount: String(cache.length),
      Type: 'Build Cache',
    }, '*formatter.diskUsageBuilderContext'),
  ];
}

// ---------------------------------------------------------------- verbose rows

/** What templates see for a build cache record (`buildCacheContext`); keys in JSON order. */
export interface BuildCacheRow {
  CacheType: string;
  CreatedAt: string;
  CreatedSince: string;
  Description: string;
  ID: string;
  InUse: string;
  LastUsedAt: string;
  LastUsedSince: string;
  Parent: string;
  Shared: string;
  Size: string;
  UsageCount: string;
}

export const BUILD_CACHE_HEADERS: Readonly<Record<string, string>> = {
  ID: 'CACHE ID',
  Parent: 'PARENT',
  CacheType: 'CACHE TYPE',
  Size: 'SIZE',
  CreatedSince: 'CREATED',
  LastUsedSince: 'LAST USED',
  UsageCount: 'USAGE',
  InUse: 'IN USE',
  Shared: 'SHARED',
  Description: 'DESCRIPTION',
};

export function buildCacheRow(bc: BuildCacheRecord, o: { trunc: boolean; now: number }): BuildCacheRow {
  const id = o.trunc ? truncateId(bc.ID) : bc.ID;
  const parent = (bc.Parents ?? []).join(', ');
  const since = (t: string | undefined | null) => {
    const ms = Date.parse(t ?? '');
    return Number.isNaN(ms) ? '' : `${humanDuration(o.now - ms)} ago`;
  };
  return {
    CacheType: bc.Type ?? '',
    CreatedAt: goTimeStringRfc3339(bc.CreatedAt),
    CreatedSince: since(bc.CreatedAt),
    Description: bc.Description ?? '',
    ID: bc.InUse === true ? `${id}*` : id,
    InUse: String(bc.InUse === true),
    LastUsedAt: bc.LastUsedAt ? goTimeStringRfc3339(bc.LastUsedAt) : '',
    LastUsedSince: bc.LastUsedAt ? since(bc.LastUsedAt) : '',
    Parent: o.trunc ? truncateId(parent) : parent,
    Shared: String(bc.Shared === true),
    Size: humanSizeWithPrecision(bc.Size ?? 0, 3),
    UsageCount: String(bc.UsageCount ?? 0),
  };
}

/** `buildCacheSort`: never used first, then by last use, ties by ID. */
function sortBuildCache(cache: readonly BuildCacheRecord[]): BuildCacheRecord[] {
  const time = (t: string | null | undefined) => (t ? Date.parse(t) : undefined);
  return [...cache].sort((a, b) => {
    const ta = time(a.LastUsedAt);
    const tb = time(b.LastUsedAt);
    if (ta === undefined && tb !== undefined) return -1;
    if (tb === undefined && ta !== undefined) return 1;
    if (ta === tb || ta === undefined || tb === undefined) return a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0;
    return ta - tb;
  });
}

/** Sorts an object's keys as Go's encoding/json sorts a map's. */
function sortedObject(o: object): Record<string, unknown> {
  const src = o as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(src).sort()) out[k] = src[k];
  return out;
}

/** The lists `system df -v` renders (`diskUsageContext`): one row object per item. */
export interface DiskUsageDetail {
  Images: Record<string, unknown>[];
  Containers: Record<string, unknown>[];
  Volumes: Record<string, unknown>[];
  BuildCache: Record<string, unknown>[];
}

/**
 * The rows of `system df -v`: images with their first tag (`<none>` when dangling or digest
 * only; unparseable tags leave the image out), containers without their virtual size,
 * volumes with links and size, build cache ordered by last use.
 */
export function diskUsageDetail(du: DiskUsage, o: { trunc: boolean; now: number }): DiskUsageDetail {
  const images: Record<string, unknown>[] = [];
  for (const i of du.Images ?? []) {
    let repo = '<none>';
    let tag = '<none>';
    const first = i.RepoTags?.[0];
    if (first !== undefined && !isDanglingImage(i)) {
      let ref;
      try {
        ref = parseReference(first);
      } catch {
        continue;
      }
      if (ref.tag !== undefined) {
        repo = familiarName(ref.repository);
        tag = ref.tag;
      }
    }
    images.push(sortedObject(imageRow(i, repo, tag, '', o)));
  }
  const containers = (du.Containers ?? []).map((c) => sortedObject({ ...containerRow({ ...c, SizeRootFs: 0 }, o) }));
  const volumes = (du.Volumes ?? []).map((v) => sortedObject(volumeRow(v)));
  const buildCache = sortBuildCache(du.BuildCache ?? []).map((bc) => sortedObject(buildCacheRow(bc, o)));
  return { Images: images, Containers: containers, Volumes: volumes, BuildCache: buildCache };
}

// ---------------------------------------------------------------- rendering

const DF_IMAGE_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}';
const DF_CONTAINER_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}';
const DF_VOLUME_TABLE = 'table {{.Name}}\t{{.Links}}\t{{.Size}}';
const DF_BUILD_CACHE_TABLE = 'table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}';

/** `-v --format raw`: each item's raw format, preceded by its type. */
const DF_VERBOSE_RAW =
  '{{range .Images}}type: Image\n' +
  'repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n' +
  '\n{{end -}}\n{{range .Containers}}type: Container\n' +
  'container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\nsize: {{.Size}}\\n' +
  '\n{{end -}}\n{{range .Volumes}}type: Volume\n' +
  'name: {{.Name}}\\ndriver: {{.Driver}}\\n' +
  '\n{{end -}}\n{{range .BuildCache}}type: Build Cache\n' +
  'build_cache_id: {{.ID}}\nparent_id: {{.Parent}}\nbuild_cache_type: {{.CacheType}}\ndescription: {{.Description}}\ncreated_at: {{.CreatedAt}}\ncreated_since: {{.CreatedSince}}\nlast_used_at: {{.LastUsedAt}}\nlast_used_since: {{.LastUsedSince}}\nusage_count: {{.UsageCount}}\nin_use: {{.InUse}}\nshared: {{.Shared}}\n' +
  '\n{{end -}}';

const DF_RAW = 'type: {{.Type}}\ntotal: {{.TotalCount}}\nactive: {{.Active}}\nsize: {{.Size}}\nreclaimable: {{.Reclaimable}}\n';

/** The formatter context's `preFormat`: `table` dropped, `json` as `{{json .}}`, `\t`/`\n` unescaped. */
function preFormat(format: string): string {
  let f = format;
  if (f.startsWith('table')) f = f.slice('table'.length);
  else if (f === 'json') f = '{{json .}}';
  return f.replace(/^ +| +$/g, '').replace(/\\[tn]/g, (e) => (e === '\\t' ? '\t' : '\n'));
}

function verboseTable(du: DiskUsage, detail: DiskUsageDetail): string {
  let s = 'Images space usage:\n\n';
  s += formatRows(DF_IMAGE_TABLE, detail.Images, { table: DF_IMAGE_TABLE, headers: IMAGES_HEADERS });
  s += '\nContainers space usage:\n\n';
  s += formatRows(DF_CONTAINER_TABLE, detail.Containers, { table: DF_CONTAINER_TABLE, headers: PS_HEADERS });
  s += '\nLocal Volumes space usage:\n\n';
  s += formatRows(DF_VOLUME_TABLE, detail.Volumes, { table: DF_VOLUME_TABLE, headers: VOLUME_HEADERS });
  s += `\nBuild cache usage: ${humanSize(builderSize(du.BuildCache ?? []))}\n\n`;
  s += formatRows(DF_BUILD_CACHE_TABLE, detail.BuildCache, { table: DF_BUILD_CACHE_TABLE, headers: BUILD_CACHE_HEADERS });
  return s;
}

/**
 * `system df` output. Without `-v`: the summary lines in the format (`table` by default,
 * `raw`, `json`, a template per line). With `-v`: the four sections as tables, or, for any
 * other format, the template run once over {Images, Containers, Volumes, BuildCache} (IDs
 * truncated only for `table ...` formats, no newline added, as docker does).
 */
export function renderDiskUsage(du: DiskUsage, o: { format?: string | undefined; verbose: boolean; now?: number }): string {
  const source = o.format === undefined || o.format === '' ? 'table' : o.format;
  const now = o.now ?? Date.now();
  if (!o.verbose) {
    const format = source === 'raw' ? DF_RAW : source;
    return formatRows(format, diskUsageSummary(du), { table: DISK_USAGE_TABLE, headers: DISK_USAGE_HEADERS });
  }
  const detail = diskUsageDetail(du, { trunc: source.startsWith('table'), now });
  if (source === 'table') return verboseTable(du, detail);
  // `json` is `{{json .}}`; the rows inside are formatter contexts, HTML-escaped by json.Marshal.
  if (source === 'json') return escapeHtml(goJSON(detail));
  return compileTemplate(preFormat(source === 'raw' ? DF_VERBOSE_RAW : source))(detail);
}

// ---------------------------------------------------------------- system prune

/**
 * The confirmation of `system prune`: what it removes, and the `label`, `label!` and `until`
 * filters given (natural order, duplicates once), as docker 28's template renders it.
 */
export function systemPruneWarning(o: { all: boolean; volumes: boolean; buildCache: boolean; filters: readonly string[] }): string {
  const warnings = ['all stopped containers', 'all networks not used by at least one container'];
  if (o.volumes) warnings.push('all anonymous volumes not used by at least one container');
  warnings.push(o.all ? 'all images without at least one container associated to them' : 'all dangling images');
  if (o.buildCache) warnings.push(o.all ? 'all build cache' : 'unused build cache');
  const shown = new Set<string>();
  for (const f of o.filters) {
    const eq = f.indexOf('=');
    if (eq < 0) continue;
    const key = f.slice(0, eq).trim().toLowerCase();
    if (key === 'label' || key === 'label!' || key === 'until') shown.add(`${key}=${f.slice(eq + 1).trim()}`);
  }
  const filters = [...shown].sort(naturalCompare);
  let s = `WARNING! This will remove:${warnings.map((w) => `\n  - ${w}`).join('')}\n`;
  if (filters.length > 0) s += `\n  Items to be pruned will be filtered with:${filters.map((f) => `\n  - ${f}`).join('')}\n`;
  return `${s}\nAre you sure you want to continue?`;
}

/** Whether `--filter` values name a key (`until`, `all`), as filters.Args.Contains. */
export function hasFilter(values: readonly string[], key: string): boolean {
  return values.some((f) => f.includes('=') && f.slice(0, f.indexOf('=')).trim().toLowerCase() === key);
}
