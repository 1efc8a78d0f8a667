import { PassThrough } from 'node:stream';
import { InvalidArgument, NotImplemented } from '../../core/errors.js';
import { keepsLogs, readJsonLog, readLog, logSize, type ContainerRecord, type EndpointConfig, type Engine, type LogRecord, type WaitCondition } from '../../engine/index.js';
import type { ContainerConfig, ContainerUpdate, HostConfig } from '../../engine/containers/types.js';
import { boolQuery, filtersQuery, intQuery, jsonBody, param, sendJson, sendStatus, untilTime, type Ctx, type Handler } from '../context.js';
import { openRawStream } from '../raw-stream.js';
import { checkSummaryFilter, isSummaryFilter, matchSummary, SUMMARY_FILTER_KEYS } from '../container-filters.js';
import { containerInspect, containerSummary, summaryFilterView } from '../views.js';

type Route = [method: string, path: string, handler: Handler];

export const containerRoutes: readonly Route[] = [
  ['POST', '/containers/create', create],
  ['GET', '/containers/json', list],
  ['GET', '/containers/:id/json', inspect],
  ['POST', '/containers/:id/start', async (ctx) => {
    await ctx.engine.containers.start(param(ctx, 'id'));
    sendStatus(ctx, 204);
  }],
  ['POST', '/containers/:id/stop', async (ctx) => {
    const t = intQuery(ctx.query, 't');
    const signal = ctx.query.get('signal');
    await ctx.engine.containers.stop(param(ctx, 'id'), { ...(t !== undefined ? { timeout: t } : {}), ...(signal ? { signal } : {}) });
    sendStatus(ctx, 204);
  }],
  ['POST', '/containers/:id/restart', async (ctx) => {
    const t = intQuery(ctx.query, 't');
    await ctx.engine.containers.restart(param(ctx, 'id'), t !== undefined ? { timeout: t } : {});
    sendStatus(ctx, 204);
  }],
  ['POST', '/containers/:id/kill', async (ctx) => {
    await ctx.engine.containers.kill(param(ctx, 'id'), ctx.query.get('signal') || 'SIGKILL');
    sendStatus(ctx, 204);
  }],
  ['POST', '/containers/:id/pause', async (ctx) => {
    await ctx.engine.containers.pause(param(ctx, 'id'));
    sendStatus(ctx, 204);
  }],
  ['POST', '/containers/:id/unpause', async (ctx) => {
    await ctx.engine.containers.unpause(param(ctx, 'id'));
    sendStatus(ctx, 204);
  }],
  ['POST', '/containers/:id/rename', async (ctx) => {
    await ctx.engine.containers.rename(param(ctx, 'id'), ctx.query.get('name') ?? '');
    sendStatus(ctx, 204);
  }],
  ['POST', '/containers/:id/resize', async (ctx) => {
    await ctx.engine.containers.resize(param(ctx, 'id'), intQuery(ctx.query, 'h') ?? 24, intQuery(ctx.query, 'w') ?? 80);
    sendStatus(ctx, 200);
  }],
  ['POST', '/containers/:id/update', async (ctx) => {
    const body = (await jsonBody<ContainerUpdate>(ctx)) ?? {};
    sendJson(ctx, 200, await ctx.engine.containers.update(param(ctx, 'id'), body));
  }],
  ['POST', '/containers/:id/wait', wait],
  ['DELETE', '/containers/:id', async (ctx) => {
    await ctx.engine.containers.remove(param(ctx, 'id'), { force: boolQuery(ctx.query, 'force'), volumes: boolQuery(ctx.query, 'v') });
    sendStatus(ctx, 204);
  }],
  ['POST', '/containers/:id/attach', attach],
  ['GET', '/containers/:id/logs', logs],
  ['GET', '/containers/:id/top', top],
  ['GET', '/containers/:id/stats', stats],
  ['POST', '/containers/prune', prune],
];

async function create(ctx: Ctx): Promise<void> {
  const body = (await jsonBody<ContainerConfig & { HostConfig?: HostConfig; NetworkingConfig?: { EndpointsConfig?: Record<string, EndpointConfig> | null } | null }>(ctx)) ?? {};
  const { HostConfig: hostConfig = {}, NetworkingConfig: networking, ...config } = body;
  const name = ctx.query.get('name') ?? undefined;
  const endpoints = networking?.EndpointsConfig ?? undefined;
  const out = await ctx.engine.containers.create({ ...(name !== undefined ? { name } : {}), config, hostConfig, ...(endpoints ? { endpoints } : {}) });
  sendJson(ctx, 201, out);
}

async function list(ctx: Ctx): Promise<void> {
  const all = boolQuery(ctx.query, 'all');
  const limit = intQuery(ctx.query, 'limit') ?? -1;
  const filters = filtersQuery(ctx.query);
  checkContainerFilters(ctx.engine, filters);
  let recs = ctx.engine.containers.list().filter((r) => matchContainer(ctx.engine, r, filters));
  if (!all && limit <= 0 && !filters.has('status') && !filters.has('exited')) recs = recs.filter((r) => r.state.Running || r.state.Restarting);
  if (SUMMARY_FILTER_KEYS.some((k) => filters.has(k))) recs = recs.filter((r) => matchSummary(summaryFilterView(r), filters));
  if (limit > 0) recs = recs.slice(0, limit);
  sendJson(ctx, 200, recs.map(containerSummary));
}

/** Docker's `ps --filter` keys. */
const CONTAINER_FILTERS: Readonly<Record<string, (e: Engine, r: ContainerRecord, v: string) => boolean>> = Object.freeze({
  id: (_e, r, v) => r.id.startsWith(v),
  name: (_e, r, v) => new RegExp(v).test(r.name.slice(1)),
  label: (_e, r, v) => {
    const [k, val] = splitOnce(v, '=');
    const labels = r.config.Labels ?? {};
    return val === undefined ? k in labels : labels[k] === val;
  },
  status: (_e, r, v) => r.state.Status === v,
  exited: (_e, r, v) => !r.state.Running && r.hasBeenStarted && r.state.ExitCode === Number(v),
  ancestor: (e, r, v) => {
    const img = e.images.tryResolve(v);
    return img !== undefined ? img.id === r.image : r.imageName === v;
  },
  health: (_e, r, v) => (r.state.Health?.Status ?? 'none') === v,
  before: (e, r, v) => r.created < e.containers.get(v).created,
  since: (e, r, v) => r.created > e.containers.get(v).created,
});

const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

/** Refuses bad filters whether or not there are containers to apply them to (Docker's words). */
function checkContainerFilters(e: Engine, filters: Map<string, string[]>): void {
  for (const [key, values] of filters) {
    if (isSummaryFilter(key)) {
      for (const v of values) checkSummaryFilter(key, v);
      continue;
    }
    if (CONTAINER_FILTERS[key] === undefined) throw new InvalidArgument(`invalid filter '${key}'`);
    for (const v of values) {
      if (key === 'status' && !STATUSES.includes(v)) throw new InvalidArgument(`invalid filter 'status=${v}'`);
      if (key === 'health' && !HEALTH.includes(v)) throw new InvalidArgument(`invalid filter 'health=${v}'`);
      if (key === 'exited' && !/^-?\d+$/.test(v)) throw new InvalidArgument(`invalid filter 'exited=${v}'`);
      if (key === 'before' || key === 'since') e.containers.get(v);
      if (key === 'name') {
        try {
          new RegExp(v);
        } catch {
          throw new InvalidArgument(`invalid filter 'name=${v}'`);
        }
      }
    }
  }
}

function matchContainer(e: Engine, r: ContainerRecord, filters: Map<string, string[]>): boolean {
  for (const [key, values] of filters) {
    if (isSummaryFilter(key)) continue; // on the summary, after
    const f = CONTAINER_FILTERS[key];
    if (!f) throw new InvalidArgument(`invalid filter '${key}'`);
    // Values of one key are alternatives (OR), keys combine with AND — except labels, which all must match.
    if (key === 'label' ? !values.every((v) => f(e, r, v)) : !values.some((v) => f(e, r, v))) return false;
  }
  return true;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

async function inspect(ctx: Ctx): Promise<void> {
  const rec = ctx.engine.containers.get(param(ctx, 'id'));
  const out = containerInspect(ctx.engine, rec, await ctx.engine.containers.graphDriverData(rec));
  if (boolQuery(ctx.query, 'size')) Object.assign(out, { SizeRw: 0, SizeRootFs: 0 });
  sendJson(ctx, 200, out);
}

async function wait(ctx: Ctx): Promise<void> {
  const condition = (ctx.query.get('condition') || 'not-running') as WaitCondition;
  if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw new InvalidArgument(`invalid condition: "${condition}"`);
  const res = ctx.res;
  const done = ctx.engine.containers.wait(param(ctx, 'id'), condition);
  // Headers go out at once so clients know the wait is registered before they start the container.
  res?.writeHead(200, { 'Content-Type': 'application/json' });
  res?.flushHeaders();
  const code = await done;
  res?.end(JSON.stringify({ StatusCode: code, Error: null }));
}

async function attach(ctx: Ctx): Promise<void> {
  const engine = ctx.engine;
  const rec = engine.containers.get(param(ctx, 'id'));
  const tty = rec.config.Tty === true;
  const q = ctx.query;
  const wantStdout = boolQuery(q, 'stdout');
  const wantStderr = boolQuery(q, 'stderr');
  // Attach follows the monitor's spool directly: output reaches the client without waiting
  // for it to be shipped into the json-file log.
  const path = engine.containers.spoolPath(rec.id);
  const offset = boolQuery(q, 'logs') ? 0 : await logSize(path);
  const out = openRawStream(ctx, tty);
  engine.events.publish('container', 'attach', rec.id, engine.containers.attrs(rec));
  if (boolQuery(q, 'stdin') && rec.config.OpenStdin === true) {
    if (rec.state.Running) {
      const pt = new PassThrough();
      out.input.pipe(pt);
      engine.containers.attachStdin(rec.id, pt);
    } else {
      out.input.pipe(engine.containers.queueStdin(rec.id));
    }
  } else {
    out.input.resume();
  }
  if (!boolQuery(q, 'stream', true)) {
    out.end();
    return;
  }
  const abort = new AbortController();
  void out.closed.then(() => abort.abort(new Error('client went away')));
  const done = engine.containers.nextExit(rec.id);
  for await (const r of readLog(path, { offset, follow: true, done, signal: abort.signal })) {
    if ((r.stream === 'stdout' && wantStdout) || (r.stream === 'stderr' && wantStderr)) {
      out.write(r.stream === 'stdout' ? 1 : 2, r.partial ? r.text : `${r.text}\n`);
    }
  }
  out.end();
}

async function logs(ctx: Ctx): Promise<void> {
  const engine = ctx.engine;
  const rec = engine.containers.get(param(ctx, 'id'));
  if (!keepsLogs(rec)) throw new NotImplemented('configured logging driver does not support reading');
  const q = ctx.query;
  const stdout = boolQuery(q, 'stdout');
  const stderr = boolQuery(q, 'stderr');
  if (!stdout && !stderr) throw new InvalidArgument('You must choose at least one stream');
  const follow = boolQuery(q, 'follow');
  const timestamps = boolQuery(q, 'timestamps');
  const since = parseTimeQuery(q.get('since'));
  const until = parseTimeQuery(q.get('until'));
  const tailRaw = q.get('tail');
  const tail = tailRaw === null || tailRaw === '' || tailRaw === 'all' ? -1 : Number(tailRaw);
  const tty = rec.config.Tty === true;
  const out = openRawStream(ctx, tty);
  out.input.resume();
  const path = engine.containers.logPath(rec.id);
  const { maxFiles } = engine.containers.logRotation(rec);
  if (rec.state.Running) await engine.containers.flushLog(rec);
  const abort = new AbortController();
  void out.closed.then(() => abort.abort(new Error('client went away')));
  const emit = (r: { stream: 'stdout' | 'stderr'; time: string; text: string; partial: boolean }) => {
    if ((r.stream === 'stdout' && !stdout) || (r.stream === 'stderr' && !stderr)) return;
    out.write(r.stream === 'stdout' ? 1 : 2, `${timestamps ? `${r.time} ` : ''}${r.text}${r.partial ? '' : '\n'}`);
  };
  const inWindow = (n: bigint) => (since === undefined || n >= since) && (until === undefined || n <= until);
  // --tail needs the end of what is there now: the last N records are held back until the
  // reader has caught up with the file, then output streams live.
  const held: LogRecord[] = [];
  let live = tail < 0;
  const caughtUp = () => {
    if (live) return;
    live = true;
    for (const r of held) emit(r);
    held.length = 0;
  };
  const following = follow && rec.state.Running;
  const reader = readJsonLog(path, {
    maxFiles,
    follow: following,
    ...(following ? { done: engine.containers.exited(rec.id) } : {}),
    signal: abort.signal,
    onIdle: caughtUp,
  });
  for await (const r of reader) {
    if (until !== undefined && r.nanos > until) break;
    if (!inWindow(r.nanos)) continue;
    if (live) emit(r);
    else if (tail > 0) {
      held.push(r);
      if (held.length > tail) held.shift();
    }
  }
  caughtUp();
  out.end();
}

/** `since`/`until`: Unix seconds with optional fraction (what the docker CLI sends). */
function parseTimeQuery(v: string | null): bigint | undefined {
  if (v === null || v === '' || v === '0') return undefined;
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(v);
  if (!m) throw new InvalidArgument(`invalid time value: ${v}`);
  return BigInt(m[1] ?? '0') * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
}

async function top(ctx: Ctx): Promise<void> {
  const rec = ctx.engine.containers.get(param(ctx, 'id'));
  ctx.engine.containers.assertRunning(rec);
  const pids = await ctx.engine.runtime.ps(rec.id);
  const psArgs = (ctx.query.get('ps_args') || '-ef').split(/\s+/).filter(Boolean);
  const { run } = await import('../../sys/exec.js');
  const r = await run('ps', psArgs);
  const lines = r.stdout.split('\n').filter(Boolean);
  const header = (lines[0] ?? '').trim().split(/\s+/);
  const pidCol = header.indexOf('PID');
  if (pidCol < 0) throw new InvalidArgument(`Couldn't find PID field in ps output`);
  const processes = lines.slice(1).map((l) => {
    const parts = l.trim().split(/\s+/);
    return [...parts.slice(0, header.length - 1), parts.slice(header.length - 1).join(' ')];
  }).filter((p) => pids.includes(Number(p[pidCol])));
  sendJson(ctx, 200, { Titles: header, Processes: processes });
}

/** runc's blkio counters under the Engine API's names; a kind the cgroup has none of is null, as in Docker. */
function blkioStats(b: Record<string, unknown> | undefined): Record<string, unknown> {
  const kinds = {
    io_service_bytes_recursive: 'ioServiceBytesRecursive',
    io_serviced_recursive: 'ioServicedRecursive',
    io_queue_recursive: 'ioQueuedRecursive',
    io_service_time_recursive: 'ioServiceTimeRecursive',
    io_wait_time_recursive: 'ioWaitTimeRecursive',
    io_merged_recursive: 'ioMergedRecursive',
    io_time_recursive: 'ioTimeRecursive',
    sectors_recursive: 'sectorsRecursive',
  } as const;
  const out: Record<string, unknown> = {};
  for (const [api, runc] of Object.entries(kinds)) {
    const entries = b?.[runc];
    out[api] = Array.isArray(entries) && entries.length > 0 ? entries.map((e: { major?: number; minor?: number; op?: string; value?: number }) => ({ major: e.major ?? 0, minor: e.minor ?? 0, op: e.op ?? '', value: e.value ?? 0 })) : null;
  }
  return out;
}

async function stats(ctx: Ctx): Promise<void> {
  const rec = ctx.engine.containers.get(param(ctx, 'id'));
  const stream = boolQuery(ctx.query, 'stream', true) && !boolQuery(ctx.query, 'one-shot');
  const sample = async () => {
    const now = new Date().toISOString();
    const base = { read: now, preread: '0001-01-01T00:00:00Z', name: rec.name, id: rec.id, num_procs: 0 };
    if (!rec.state.Running) return { ...base, pids_stats: {}, cpu_stats: { cpu_usage: { total_usage: 0 }, system_cpu_usage: 0, online_cpus: 0, throttling_data: {} }, precpu_stats: { cpu_usage: { total_usage: 0 }, throttling_data: {} }, memory_stats: {}, blkio_stats: {}, networks: {} };
    const s = await ctx.engine.runtime.stats(rec.id);
    const { readFile } = await import('node:fs/promises');
    const { cpus, totalmem } = await import('node:os');
    const statLine = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    const jiffies = statLine.split(/\s+/).slice(1).reduce((a, b) => a + Number(b || 0), 0);
    const raw = s.memory?.raw ?? {};
    return {
      ...base,
      pids_stats: { current: s.pids?.current ?? 0, limit: s.pids?.limit ?? 0 },
      cpu_stats: {
        cpu_usage: { total_usage: s.cpu?.usage?.total ?? 0, percpu_usage: s.cpu?.usage?.percpu ?? [], usage_in_kernelmode: s.cpu?.usage?.kernel ?? 0, usage_in_usermode: s.cpu?.usage?.user ?? 0 },
        system_cpu_usage: Math.round((jiffies * 1e9) / 100),
        online_cpus: cpus().length,
        throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
      },
      // Without a limit the cgroup reports ~8 EiB: Docker shows the machine's memory instead.
      memory_stats: { usage: s.memory?.usage?.usage ?? 0, max_usage: s.memory?.usage?.max ?? 0, limit: Math.min(s.memory?.usage?.limit ?? 0, totalmem()), stats: { ...raw, total_inactive_file: raw.total_inactive_file ?? 0 } },
      blkio_stats: blkioStats(s.blkio),
      // The container's own interfaces (none for --network host: the host's are not its own).
      ...(rec.hostConfig.NetworkMode !== 'host' ? { networks: (await ctx.engine.containers.interfaceStats(rec)) ?? {} } : {}),
      storage_stats: {},
    };
  };
  const res = ctx.res;
  if (!res) throw new InvalidArgument('stats does not support connection upgrade');
  if (!stream) {
    const first = await sample();
    await new Promise((r) => setTimeout(r, 100));
    const second = await sample();
    sendJson(ctx, 200, { ...second, precpu_stats: first.cpu_stats, preread: first.read });
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  let prev = await sample();
  let closed = false;
  res.on('close', () => (closed = true));
  while (!closed) {
    await new Promise((r) => setTimeout(r, 1000));
    const cur = await sample().catch(() => undefined);
    if (!cur || closed) break;
    res.write(`${JSON.stringify({ ...cur, precpu_stats: prev.cpu_stats, preread: prev.read })}\n`);
    prev = cur;
  }
  res.end();
}

async function prune(ctx: Ctx): Promise<void> {
  const filters = filtersQuery(ctx.query);
  for (const key of filters.keys()) if (!['label', 'label!', 'until'].includes(key)) throw new InvalidArgument(`invalid filter '${key}'`);
  const until = filters.get('until')?.[0];
  const before = until !== undefined ? untilTime(until) : undefined;
  const hasLabel = (r: ContainerRecord, v: string) => CONTAINER_FILTERS.label?.(ctx.engine, r, v) === true;
  const deleted: string[] = [];
  for (const r of ctx.engine.containers.list()) {
    if (r.state.Running || r.state.Restarting) continue;
    if (!(filters.get('label') ?? []).every((v) => hasLabel(r, v))) continue;
    if ((filters.get('label!') ?? []).some((v) => hasLabel(r, v))) continue;
    if (before !== undefined && Date.parse(r.created) > before) continue;
    await ctx.engine.containers.remove(r.id, { force: false, volumes: false });
    deleted.push(r.id);
  }
  sendJson(ctx, 200, { ContainersDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: 0 });
}

