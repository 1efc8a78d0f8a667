/**
 * Table rows for `ps`, `images` and `history`, built from Engine API JSON with the
 * docker CLI formatter's field names and rendering (cli/command/formatter): these are
 * what `--format` templates see. Pure functions; `now` is a parameter for tests.
 */
import { parseReference, familiarName, familiarString, withDefaultTag } from '../core/reference.js';
import { displayablePorts, type ApiPort } from './ports.js';
import { goTimeString, rfc3339 } from './times.js';
import { ellipsis, goQuote, humanDuration, humanSize, humanSizeWithPrecision, truncateId } from './units.js';

// ---------------------------------------------------------------- containers

export interface ContainerSummary {
  Id: string;
  Names?: string[] | null;
  Image?: string;
  ImageID?: string;
  Command?: string;
  Created?: number;
  Ports?: ApiPort[] | null;
  SizeRw?: number;
  SizeRootFs?: number;
  Labels?: Record<string, string> | null;
  State?: string;
  Status?: string;
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
  Mounts?: { Name?: string; Source?: string; Driver?: string }[] | null;
}

export interface ContainerRow {
  ID: string;
  Image: string;
  Command: string;
  CreatedAt: string;
  RunningFor: string;
  Ports: string;
  State: string;
  Status: string;
  Size: string;
  Names: string;
  Labels: string;
  Mounts: string;
  Networks: string;
  LocalVolumes: string;
  /** The image's platform: the daemon sends one from API 1.48, berth's answers (1.44) none. */
  Platform: null;
}

export const PS_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

export const PS_HEADERS: Readonly<Record<string, string>> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  Networks: 'NETWORKS',
  LocalVolumes: 'LOCAL VOLUMES',
};

function sortedLabels(labels: Record<string, string> | null | undefined): string {
  if (!labels) return '';
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/** `ContainerContext.Image`: short ID when the image is an ID, digest dropped when truncating. */
function containerImage(c: ContainerSummary, trunc: boolean): string {
  const image = c.Image ?? '';
  if (image === '') return '<no image>';
  if (trunc) {
    const t = truncateId(c.ImageID ?? '');
    if (t !== '' && t === truncateId(image)) return t;
    try {
      const ref = parseReference(image);
      if (ref.tag !== undefined) return familiarString({ repository: ref.repository, domain: ref.domain, path: ref.path, tag: ref.tag });
      return familiarName(ref.repository);
    } catch {
      // not a reference: shown as is
    }
  }
  return image;
}

/**
 * Adds the formatter contexts' `Label` method (`{{.Label "com.docker.compose.service"}}`: the
 * label's value, "" when there is none) to a row. Not enumerable: `{{json .}}` and spreads
 * show the fields only, as the docker CLI's JSON of a context does.
 */
export function withLabelMethod<T extends object>(row: T, labels: Record<string, string> | null | undefined): T {
  Object.defineProperty(row, 'Label', { value: (name: unknown) => (labels !== null && labels !== undefined && typeof name === 'string' && Object.hasOwn(labels, name) ? labels[name] : ''), enumerable: false });
  return row;
}

/** `containerImage` for rows that share an image (most do): one reference parse per image. */
const imageNames = new Map<string, string>();

/**
 * A `ps` row. The columns of the default table are computed at once; the others (a local
 * time zone to load, sizes, sorted labels) only when a format asks for them: they are
 * getters of the row's own, so templates, `{{json .}}` and spreads still see every field.
 */
export function containerRow(c: ContainerSummary, opts: { trunc: boolean; now?: number }): ContainerRow {
  const now = opts.now ?? Date.now();
  const trunc = opts.trunc;
  const names: string[] = [];
  for (const name of c.Names ?? []) {
    if (trunc) {
      if (name.split('/').length === 2) names.push(name.slice(1));
    } else {
      names.push(name.slice(1));
    }
  }
  const created = c.Created ?? 0;
  const imageKey = `${trunc ? 't' : 'f'}\0${c.Image ?? ''}\0${c.ImageID ?? ''}`;
  let image = imageNames.get(imageKey);
  if (image === undefined) imageNames.set(imageKey, (image = containerImage(c, trunc)));
  return withLabelMethod({
    ID: trunc ? truncateId(c.Id) : c.Id,
    Image: image,
    Command: goQuote(trunc ? ellipsis(c.Command ?? '', 20) : (c.Command ?? '')),
    get CreatedAt() {
      return goTimeString(created);
    },
    RunningFor: `${humanDuration(now - created * 1000)} ago`,
    Ports: displayablePorts(c.Ports),
    State: c.State ?? '',
    Status: c.Status ?? '',
    get Size() {
      const sizeRw = humanSizeWithPrecision(c.SizeRw ?? 0, 3);
      return (c.SizeRootFs ?? 0) > 0 ? `${sizeRw} (virtual ${humanSizeWithPrecision(c.SizeRootFs ?? 0, 3)})` : sizeRw;
    },
    Names: names.join(','),
    get Labels() {
      return sortedLabels(c.Labels);
    },
    get Mounts() {
      return (c.Mounts ?? []).map((m) => (trunc ? ellipsis(m.Name ? m.Name : (m.Source ?? ''), 15) : m.Name ? m.Name : (m.Source ?? ''))).join(',');
    },
    get Networks() {
      return Object.keys(c.NetworkSettings?.Networks ?? {}).sort().join(',');
    },
    get LocalVolumes() {
      return String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length);
    },
    Platform: null,
  }, c.Labels);
}

// ---------------------------------------------------------------- images

export interface ImageSummary {
  Id: string;
  ParentId?: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Created?: number;
  Size?: number;
  SharedSize?: number;
  VirtualSize?: number;
  Labels?: Record<string, string> | null;
  Containers?: number;
}

export interface ImageRow {
  ID: string;
  Repository: string;
  Tag: string;
  Digest: string;
  CreatedSince: string;
  CreatedAt: string;
  Size: string;
  Containers: string;
  VirtualSize: string;
  SharedSize: string;
  UniqueSize: string;
}

export const IMAGES_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
export const IMAGES_DIGEST_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';

export const IMAGES_HEADERS: Readonly<Record<string, string>> = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
  VirtualSize: 'SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
};

/** `isDangling`: no tags and no digests (or only `<none>` placeholders). */
export function isDanglingImage(img: ImageSummary): boolean {
  const tags = img.RepoTags ?? [];
  const digests = img.RepoDigests ?? [];
  if (tags.length === 0 && digests.length === 0) return true;
  return tags.length === 1 && tags[0] === '<none>:<none>' && digests.length === 1 && digests[0] === '<none>@<none>';
}

/** `imageContext` for one repository/tag pair (and digest) of an image. */
export function imageRow(img: ImageSummary, repo: string, tag: string, digest: string, opts: { trunc: boolean; now: number }): ImageRow {
  const created = img.Created ?? 0;
  const size = img.Size ?? 0;
  const shared = img.SharedSize ?? -1;
  return {
    ID: opts.trunc ? truncateId(img.Id) : img.Id,
    Repository: repo,
    Tag: tag,
    Digest: digest,
    CreatedSince: `${humanDuration(opts.now - created * 1000)} ago`,
    CreatedAt: goTimeString(created),
    Size: humanSizeWithPrecision(size, 3),
    Containers: (img.Containers ?? -1) === -1 ? 'N/A' : String(img.Containers),
    // docker 28: only Size has 3 digits; VirtualSize (= Size), SharedSize, UniqueSize use HumanSize.
    VirtualSize: humanSize(size),
    SharedSize: shared === -1 ? 'N/A' : humanSize(shared),
    UniqueSize: shared === -1 || size === -1 ? 'N/A' : humanSize(size - shared),
  };
}

/** One row per repository:tag (and per digest with `--digests`), like `docker images`. */
export function imageRows(images: readonly ImageSummary[], opts: { trunc: boolean; digests: boolean; now?: number }): ImageRow[] {
  const o = { trunc: opts.trunc, now: opts.now ?? Date.now() };
  const rows: ImageRow[] = [];
  for (const img of images) {
    if (isDanglingImage(img)) {
      rows.push(imageRow(img, '<none>', '<none>', '<none>', o));
      continue;
    }
    const repoTags = new Map<string, string[]>();
    const repoDigests = new Map<string, string[]>();
    for (const refString of img.RepoTags ?? []) {
      try {
        const ref = parseReference(refString);
        if (ref.tag !== undefined && ref.digest === undefined) {
          const name = familiarName(ref.repository);
          repoTags.set(name, [...(repoTags.get(name) ?? []), ref.tag]);
        }
      } catch {
        // unparseable reference: skipped, as docker does
      }
    }
    for (const refString of img.RepoDigests ?? []) {
      try {
        const ref = parseReference(refString);
        if (ref.digest !== undefined) {
          const name = familiarName(ref.repository);
          repoDigests.set(name, [...(repoDigests.get(name) ?? []), ref.digest]);
        }
      } catch {
        // skipped
      }
    }
    for (const [repo, tags] of repoTags) {
      let digests = repoDigests.get(repo) ?? [];
      repoDigests.delete(repo);
      if (!opts.digests) digests = [];
      for (const tag of tags) {
        if (digests.length === 0) rows.push(imageRow(img, repo, tag, '<none>', o));
        else for (const d of digests) rows.push(imageRow(img, repo, tag, d, o));
      }
    }
    for (const [repo, digests] of repoDigests) {
      if (opts.digests) for (const d of digests) rows.push(imageRow(img, repo, '<none>', d, o));
      else rows.push(imageRow(img, repo, '<none>', '', o));
    }
  }
  return rows;
}

// ---------------------------------------------------------------- history

export interface HistoryEntry {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags?: string[] | null;
  Size: number;
  Comment: string;
}

export interface HistoryRow {
  ID: string;
  CreatedSince: string;
  CreatedAt: string;
  CreatedBy: string;
  Size: string;
  Comment: string;
}

export const HISTORY_TABLE = 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';

export const HISTORY_HEADERS: Readonly<Record<string, string>> = {
  ID: 'IMAGE',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  CreatedBy: 'CREATED BY',
  Size: 'SIZE',
  Comment: 'COMMENT',
};

export function historyRow(h: HistoryEntry, opts: { trunc: boolean; human: boolean; now?: number }): HistoryRow {
  const now = opts.now ?? Date.now();
  const createdBy = h.CreatedBy.replaceAll('\t', ' ');
  return {
    ID: h.Id === '<missing>' ? '<missing>' : opts.trunc ? truncateId(h.Id) : h.Id,
    CreatedSince: opts.human ? `${humanDuration(now - h.Created * 1000)} ago` : rfc3339(h.Created),
    CreatedAt: rfc3339(h.Created),
    CreatedBy: opts.trunc ? ellipsis(createdBy, 45) : createdBy,
    Size: opts.human ? humanSizeWithPrecision(h.Size, 3) : String(h.Size),
    Comment: h.Comment,
  };
}

/** Re-exported for commands that need the image name docker prints (`busybox:latest`). */
export function familiarTagged(image: string): string {
  try {
    return familiarString(withDefaultTag(parseReference(image)));
  } catch {
    return image;
  }
}
