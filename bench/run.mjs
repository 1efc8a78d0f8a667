#!/usr/bin/env node
// berth's benchmark suite: `npm run bench` (as root), or `node bench/run.mjs --only run-rm --runs 40`.
//
// It starts its own isolated berth daemon (temp --root, --exec-root and socket, like
// test/harness.ts), imports the cached busybox rootfs, and measures berth next to anchors
// measured in the same run on the same machine: raw runc on an overlay of the same rootfs
// (the floor), `node -e 0` (the Node start floor) and the stock docker CLI talking to
// berth's own daemon (the client's cost). Reference figures measured elsewhere are printed
// in their own table and never mixed with the figures measured here. Results go to
// bench/results/latest.json. See bench/README.md.
import { DockerEngine, mountsUnder } from './dockerd.mjs';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, mkdirSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The berth CLI timed: bin/berth of a copy of the build made at start (see --no-snapshot). */
let BERTH = join(REPO, 'bin', 'berth');
const CACHE = process.env.BERTH_CACHE ?? join(REPO, '.cache');
const BUSYBOX_TAR = join(CACHE, 'images', 'busybox.tar');

const BENCHES = ['run-rm', 'run-d-rm', 'concurrent', 'ps', 'rss'];

// ---- options ------------------------------------------------------------------------------

const USAGE = `usage: node bench/run.mjs [options]   (as root)

  --only NAME[,NAME]   run only these benchmarks: ${BENCHES.join(', ')}
  --runs N             timed runs per sequential benchmark (default 20)
  --warmups N          untimed runs before them (default 2)
  --rounds N           rounds of the concurrent-start benchmark (default 3)
  --concurrency N      containers started at once in the concurrent benchmark (default 50)
  --ps-count N         containers present for the ps benchmark (default 200)
  --monitors N         running containers for the per-container monitor RSS (default 10)
  --no-anchors         measure berth only
  --no-docker-engine   do not start an isolated Docker Engine (dockerd) as an anchor, even
                       when it is installed
  --keep-env           keep NODE_EXTRA_CA_CERTS in the environment of the timed processes
                       (by default it is removed: it makes every node start parse a CA bundle)
  --no-snapshot        run bin/ and dist/ of the working tree in place; by default they are
                       copied to the temp dir first, so a rebuild during the run cannot mix versions
  --json PATH          where to write the results (default bench/results/latest.json)
`;

function parseOptions(argv) {
  const o = { only: [...BENCHES], runs: 20, warmups: 2, rounds: 3, concurrency: 50, psCount: 200, monitors: 10, anchors: true, dockerEngine: true, keepEnv: false, snapshot: true, json: join(REPO, 'bench', 'results', 'latest.json') };
  const int = (name, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} needs a whole number, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '--only': {
        o.only = value().split(',').map((s) => s.trim()).filter(Boolean);
        for (const n of o.only) if (!BENCHES.includes(n)) throw new Error(`unknown benchmark ${n}; known: ${BENCHES.join(', ')}`);
        break;
      }
      case '--runs': o.runs = Math.max(1, int(flag, value())); break;
      case '--warmups': o.warmups = int(flag, value()); break;
      case '--rounds': o.rounds = Math.max(1, int(flag, value())); break;
      case '--concurrency': o.concurrency = Math.max(1, int(flag, value())); break;
      case '--ps-count': o.psCount = int(flag, value()); break;
      case '--monitors': o.monitors = Math.max(1, int(flag, value())); break;
      case '--no-anchors': o.anchors = false; break;
      case '--no-docker-engine': o.dockerEngine = false; break;
      case '--keep-env': o.keepEnv = true; break;
      case '--no-snapshot': o.snapshot = false; break;
      case '--json': o.json = resolve(value()); break;
      case '-h':
      case '--help': process.stdout.write(USAGE); process.exit(0); break;
      default: throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  return o;
}

// ---- processes and statistics -------------------------------------------------------------

const children = new Set();

/**
 * Runs a program and resolves with its exit status, output and wall time (spawn until the
 * process has exited and its pipes have closed). stdio 'ignore' for runc -d, whose
 * container would otherwise hold our pipes open.
 */
function exec(cmd, args, { env = process.env, cwd, stdio = 'pipe', timeoutMs = 180_000 } = {}) {
  return new Promise((resolveP) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, cwd, stdio: stdio === 'ignore' ? 'ignore' : ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const out = [];
    const err = [];
    child.stdout?.on('data', (d) => out.push(d));
    child.stderr?.on('data', (d) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const done = (code, signal, error) => {
      clearTimeout(timer);
      children.delete(child);
      resolveP({
        ms: performance.now() - t0,
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: error ? error.message : Buffer.concat(err).toString(),
      });
    };
    child.once('error', (e) => done(127, null, e));
    child.once('close', (code, signal) => done(code, signal));
  });
}

/** exec that throws on a non-zero exit. */
async function must(cmd, args, opts) {
  const r = await exec(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return undefined;
  const median = n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const p90 = s[Math.max(0, Math.ceil(0.9 * n) - 1)];
  const mean = s.reduce((a, b) => a + b, 0) / n;
  const r = (v) => Math.round(v * 100) / 100;
  return { n, median: r(median), p90: r(p90), min: r(s[0]), max: r(s[n - 1]), mean: r(mean) };
}

/**
 * Times several subjects interleaved (one run of each in turn), so that load from other
 * work on the machine falls on all of them alike. Each subject: () => Promise<number> (ms).
 */
async function interleaved(subjects, runs, warmups) {
  const names = Object.keys(subjects);
  for (let i = 0; i < warmups; i++) for (const n of names) await subjects[n]();
  const xs = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < runs; i++) for (const n of names) xs[n].push(await subjects[n]());
  return Object.fromEntries(names.map((n) => [n, { ...stats(xs[n]), samples: xs[n].map((v) => Math.round(v * 100) / 100) }]));
}

async function pool(items, width, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

function procStatus(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

function pssKb(pid) {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** Processes whose command line contains `needle` (and optionally whose comm is `comm`). */
function processesWith(needle, comm) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (comm !== undefined && readFileSync(`/proc/${d}/comm`, 'utf8').trim() !== comm) continue;
      const cmdline = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(needle)) out.push({ pid: Number(d), cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function commandPath(name) {
  const r = await exec('sh', ['-c', `command -v ${name}`]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

async function firstLine(cmd, args) {
  const r = await exec(cmd, args);
  return r.code === 0 ? (r.stdout || r.stderr).split('\n')[0].trim() : undefined;
}

const mib = (kb) => Math.round((kb / 1024) * 100) / 100;

// ---- the isolated daemon ------------------------------------------------------------------

function ping(socket) {
  return new Promise((res) => {
    const req = request({ socketPath: socket, path: '/_ping', method: 'GET', timeout: 1000 }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on('error', () => res(false));
    req.end();
  });
}

class Bench {
  constructor(opts) {
    this.opts = opts;
    this.cleanEnv = { ...process.env };
    this.removedEnv = [];
    if (!opts.keepEnv && this.cleanEnv.NODE_EXTRA_CA_CERTS !== undefined) {
      delete this.cleanEnv.NODE_EXTRA_CA_CERTS;
      this.removedEnv.push('NODE_EXTRA_CA_CERTS');
    }
    this.raw = undefined;
    this.rawIds = new Set();
    this.notes = [];
  }

  /** Copies bin/, dist/ and package.json (node_modules linked) so the whole run uses one build. */
  async snapshot() {
    const dir = join(this.base, 'berth');
    await mkdir(dir, { recursive: true });
    await must('cp', ['-a', join(REPO, 'bin'), join(REPO, 'dist'), join(REPO, 'package.json'), dir]);
    await must('ln', ['-s', join(REPO, 'node_modules'), join(dir, 'node_modules')]);
    BERTH = join(dir, 'bin', 'berth');
  }

  async startDaemon() {
    this.base = await mkdtemp('/tmp/berth-bench-');
    if (this.opts.snapshot) await this.snapshot();
    this.root = join(this.base, 'root');
    this.execRoot = join(this.base, 'run');
    this.socket = join(this.base, 'berth.sock');
    this.host = `unix://${this.socket}`;
    // BERTH_ROOT/BERTH_EXEC_ROOT keep even an auto-started daemon inside the temp dir.
    this.env = { ...this.cleanEnv, BERTH_HOST: this.host, BERTH_ROOT: this.root, BERTH_EXEC_ROOT: this.execRoot, DOCKER_HOST: this.host, DOCKER_CONFIG: join(this.base, 'docker-config') };
    this.daemonLog = join(this.base, 'daemon.log');
    const fd = openSync(this.daemonLog, 'a');
    // As a user starts it: bin/berth itself, so the node flags on its first line apply.
    this.daemon = spawn(BERTH, ['daemon', '--root', this.root, '--exec-root', this.execRoot, '--host', this.host], { stdio: ['ignore', fd, fd], env: this.env });
    closeSync(fd);
    this.daemonExited = new Promise((r) => this.daemon.once('exit', r));
    for (let i = 0; i < 500; i++) {
      if (await ping(this.socket)) return;
      if (this.daemon.exitCode !== null) break;
      await sleep(20);
    }
    throw new Error(`the bench daemon did not answer /_ping:\n${this.daemonLogTail()}`);
  }

  daemonLogTail() {
    try {
      return readFileSync(this.daemonLog, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '(no daemon log)';
    }
  }

  berth(args, opts = {}) {
    return exec(BERTH, args, { env: this.env, ...opts });
  }

  async berthOk(args, opts) {
    const r = await this.berth(args, opts);
    if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r;
  }

  docker(args, opts = {}) {
    return exec('docker', args, { env: this.env, ...opts });
  }

  async dockerOk(args, opts) {
    const r = await this.docker(args, opts);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r;
  }

  async containerIds() {
    const r = await this.berth(['ps', '-aq', '--no-trunc']);
    return r.code === 0 ? r.stdout.split('\n').filter(Boolean) : [];
  }

  async removeAll() {
    const ids = await this.containerIds();
    for (let i = 0; i < ids.length; i += 50) await this.berth(['rm', '-f', ...ids.slice(i, i + 50)]);
    return ids.length;
  }

  // ---- raw runc (the floor) --------------------------------------------------------------

  /** The unpacked busybox rootfs and a runc spec, made once (concurrent callers share it). */
  setupRaw() {
    this.rawReady ??= this.makeRaw();
    return this.rawReady;
  }

  async makeRaw() {
    const dir = join(this.base, 'raw');
    const lower = join(dir, 'lower');
    const tpl = join(dir, 'template');
    await mkdir(lower, { recursive: true });
    await mkdir(tpl, { recursive: true });
    await must('tar', ['-xf', BUSYBOX_TAR, '-C', lower]);
    await must('runc', ['spec'], { cwd: tpl });
    const spec = JSON.parse(await readFile(join(tpl, 'config.json'), 'utf8'));
    this.raw = { dir, lower, spec, state: join(dir, 'state'), bundles: new Map() };
    return this.raw;
  }

  /**
   * A bundle with its own overlay (upper/work over the unpacked busybox rootfs); `seccomp`:
   * with the filter berth gives a container of runc's default capabilities (its built-in
   * profile, from the build under test), which runc compiles at each start.
   */
  async rawBundle(name, args, { seccomp = false } = {}) {
    const raw = await this.setupRaw();
    const b = join(raw.dir, 'bundles', name);
    for (const d of ['upper', 'work', 'rootfs']) await mkdir(join(b, d), { recursive: true });
    await must('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${raw.lower},upperdir=${join(b, 'upper')},workdir=${join(b, 'work')}`, join(b, 'rootfs')]);
    const spec = structuredClone(raw.spec);
    spec.process.terminal = false;
    spec.process.args = args;
    spec.root = { path: join(b, 'rootfs'), readonly: false };
    if (seccomp) {
      const m = await import(join(REPO, 'dist', 'engine', 'containers', 'seccomp.js'));
      const platform = { arch: m.goArch(process.arch), kernel: os.release(), caps: spec.process.capabilities.bounding };
      spec.linux.seccomp = m.resolveSeccomp(m.BUILTIN_SECCOMP_PROFILE, platform);
    }
    await writeFile(join(b, 'config.json'), JSON.stringify(spec));
    return b;
  }

  runc(args, opts = {}) {
    return exec('runc', ['--root', this.raw.state, ...args], { env: this.cleanEnv, ...opts });
  }

  async rawDelete(id) {
    await this.runc(['delete', '--force', id]);
    this.rawIds.delete(id);
  }

  // ---- cleanup ----------------------------------------------------------------------------

  async cleanup() {
    if (!this.base) return;
    for (const c of children) c.kill('SIGKILL');
    await this.engine?.stop().catch((e) => process.stderr.write(`Docker Engine clean-up: ${e.message}\n`));
    if (this.daemon && this.daemon.exitCode === null) {
      await this.removeAll().catch(() => undefined);
      this.daemon.kill('SIGTERM');
      const stopped = await Promise.race([this.daemonExited.then(() => true), sleep(15_000).then(() => false)]);
      if (!stopped) {
        this.daemon.kill('SIGKILL');
        await this.daemonExited;
      }
    }
    // runc containers left by this run: the raw anchors' and (after a crash) berth's.
    for (const state of [this.raw?.state, join(this.execRoot, 'runtime')]) {
      if (!state || !existsSync(state)) continue;
      const r = await exec('runc', ['--root', state, 'list', '-q']);
      for (const id of r.stdout.split('\n').filter(Boolean)) await exec('runc', ['--root', state, 'delete', '--force', id]);
    }
    // conmon monitors of this run's containers (their command lines name our exec root).
    for (const p of processesWith(this.execRoot, 'conmon')) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const m of mountsUnder(this.base)) await exec('umount', ['-l', m]);
    await rm(this.base, { recursive: true, force: true });
    this.base = undefined;
  }
}

// ---- the benchmarks -----------------------------------------------------------------------

/** One timed command that must succeed; returns its wall time in ms. */
function timed(run) {
  return async () => {
    const r = await run();
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr.trim()}`);
    return r.ms;
  };
}

/** `runc run -d` of every bundle at once: the milliseconds until all have returned; then each deleted. */
/** Busy and idle jiffies of all CPUs (/proc/stat's first line). */
function cpuJiffies() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { idle, total: f.reduce((x, y) => x + y, 0) };
}

/**
 * Waits (at most 10 s) until the CPUs are at least 90% idle over a quarter second, so that a
 * burst does not pay for the teardown of the one before it (an engine removes containers,
 * unmounts and deletes namespaces after its `rm -f` has answered).
 */
async function settle() {
  const start = performance.now();
  while (performance.now() - start < 10_000) {
    const a = cpuJiffies();
    await sleep(250);
    const z = cpuJiffies();
    if (z.total > a.total && (z.idle - a.idle) / (z.total - a.total) >= 0.9) return;
  }
}

async function rawBurst(b, bundles, prefix, what) {
  await settle();
  const t0 = performance.now();
  const rr = await Promise.all(
    bundles.map((bundle, i) => {
      const id = `${prefix}-${i}`;
      b.rawIds.add(id);
      return b.runc(['run', '-d', '--bundle', bundle, id], { stdio: 'ignore' });
    }),
  );
  const ms = performance.now() - t0;
  await Promise.all(bundles.map((_, i) => b.rawDelete(`${prefix}-${i}`)));
  if (rr.some((r) => r.code !== 0)) throw new Error(`${what} failed`);
  return ms;
}

async function benchRunRm(b, o) {
  const subjects = {
    berth: timed(() => b.berth(['run', '--rm', 'busybox', 'true'])),
    // The same without the default bridge network: the engine's cost without networking.
    'berth run --rm --network none': timed(() => b.berth(['run', '--rm', '--network', 'none', 'busybox', 'true'])),
    // The same without the seccomp filter (which runc builds at each start): what the filter costs.
    'berth run --rm --security-opt seccomp=unconfined': timed(() => b.berth(['run', '--rm', '--security-opt', 'seccomp=unconfined', 'busybox', 'true'])),
  };
  let seq = 0;
  if (o.anchors) {
    const bundle = await b.rawBundle('run-rm', ['true']);
    subjects['raw runc run (floor)'] = timed(() => b.runc(['run', '--bundle', bundle, `bench-rm-${seq++}`], { stdio: 'ignore' }));
    const filtered = await b.rawBundle('run-rm-seccomp', ['true'], { seccomp: true });
    subjects["raw runc run with berth's seccomp filter"] = timed(() => b.runc(['run', '--bundle', filtered, `bench-rm-${seq++}`], { stdio: 'ignore' }));
    subjects['node -e 0 (Node start floor)'] = timed(() => exec(process.execPath, ['-e', '0'], { env: b.cleanEnv }));
    if (b.dockerCli) subjects['docker CLI → berth daemon'] = timed(() => b.docker(['run', '--rm', 'busybox', 'true']));
    if (b.engine) subjects[b.engineLabel] = timed(() => b.engine.docker(['run', '--rm', 'busybox', 'true']));
  }
  const res = await interleaved(subjects, o.runs, o.warmups);
  const extras = {};
  for (const k of ['berth run --rm --network none', 'berth run --rm --security-opt seccomp=unconfined']) {
    extras[k] = res[k];
    delete res[k];
  }
  if (o.anchors && b.removedEnv.includes('NODE_EXTRA_CA_CERTS')) {
    // What the environment's NODE_EXTRA_CA_CERTS costs every node start (not a berth figure).
    const withCa = await interleaved({ 'node -e 0 with NODE_EXTRA_CA_CERTS': timed(() => exec(process.execPath, ['-e', '0'], { env: process.env })) }, Math.min(o.runs, 10), 1);
    extras['node -e 0 with NODE_EXTRA_CA_CERTS'] = withCa['node -e 0 with NODE_EXTRA_CA_CERTS'];
  }
  return { unit: 'ms', berth: res.berth, anchors: withoutKey(res, 'berth'), extras };
}

async function benchRunDRm(b, o) {
  const split = { 'berth run -d': [], 'berth rm -f': [] };
  const subjects = {
    berth: async () => {
      const run = await b.berth(['run', '-d', 'busybox', 'sleep', '60']);
      if (run.code !== 0) throw new Error(`berth run -d: ${run.stderr.trim()}`);
      const rmr = await b.berth(['rm', '-f', run.stdout.trim()]);
      if (rmr.code !== 0) throw new Error(`berth rm -f: ${rmr.stderr.trim()}`);
      split['berth run -d'].push(run.ms);
      split['berth rm -f'].push(rmr.ms);
      return run.ms + rmr.ms;
    },
  };
  if (o.anchors) {
    const bundle = await b.rawBundle('run-d', ['sleep', '60']);
    let seq = 0;
    subjects['raw runc run -d + delete --force'] = async () => {
      const id = `bench-d-${seq++}`;
      b.rawIds.add(id);
      const run = await b.runc(['run', '-d', '--bundle', bundle, id], { stdio: 'ignore' });
      if (run.code !== 0) throw new Error(`runc run -d exited ${run.code}`);
      const del = await b.runc(['delete', '--force', id]);
      if (del.code !== 0) throw new Error(`runc delete: ${del.stderr.trim()}`);
      b.rawIds.delete(id);
      return run.ms + del.ms;
    };
    if (b.dockerCli) {
      subjects['docker CLI → berth daemon'] = async () => {
        const run = await b.dockerOk(['run', '-d', 'busybox', 'sleep', '60']);
        const rmr = await b.dockerOk(['rm', '-f', run.stdout.trim()]);
        return run.ms + rmr.ms;
      };
    }
    if (b.engine) {
      subjects[b.engineLabel] = async () => {
        const run = await b.engine.dockerOk(['run', '-d', 'busybox', 'sleep', '60']);
        const rmr = await b.engine.dockerOk(['rm', '-f', run.stdout.trim()]);
        return run.ms + rmr.ms;
      };
    }
  }
  const res = await interleaved(subjects, o.runs, o.warmups);
  const keep = (xs) => xs.slice(o.warmups);
  return {
    unit: 'ms',
    berth: res.berth,
    anchors: withoutKey(res, 'berth'),
    extras: { 'berth run -d': stats(keep(split['berth run -d'])), 'berth rm -f': stats(keep(split['berth rm -f'])) },
  };
}

async function benchConcurrent(b, o) {
  const n = o.concurrency;
  const berthRounds = [];
  const rmRounds = [];
  const rawRounds = [];
  const rawSeccompRounds = [];
  const dockerRounds = [];
  const engineRounds = [];
  let rawBundles = [];
  let rawSeccompBundles = [];
  if (o.anchors) rawBundles = await Promise.all(Array.from({ length: n }, (_, i) => b.rawBundle(`c${i}`, ['sleep', '60'])));
  if (o.anchors) rawSeccompBundles = await Promise.all(Array.from({ length: n }, (_, i) => b.rawBundle(`cs${i}`, ['sleep', '60'], { seccomp: true })));
  for (let round = 0; round < o.rounds; round++) {
    // berth: n `run -d` processes at once; done when every one has returned (its container is running).
    await settle();
    const t0 = performance.now();
    const runs = await Promise.all(Array.from({ length: n }, () => b.berth(['run', '-d', 'busybox', 'sleep', '60'])));
    const ms = performance.now() - t0;
    const failed = runs.filter((r) => r.code !== 0);
    const ids = runs.filter((r) => r.code === 0).map((r) => r.stdout.trim());
    const running = (await b.berthOk(['ps', '-q'])).stdout.split('\n').filter(Boolean).length;
    const rmr = await b.berth(['rm', '-f', ...ids]);
    if (failed.length > 0) throw new Error(`${failed.length} of ${n} berth run -d failed: ${failed[0].stderr.trim()}`);
    if (running !== n) throw new Error(`${running} containers running after ${n} concurrent starts`);
    berthRounds.push(ms);
    rmRounds.push(rmr.ms);
    if (o.anchors) {
      rawRounds.push(await rawBurst(b, rawBundles, `bench-c${round}`, 'a raw runc run -d'));
      rawSeccompRounds.push(await rawBurst(b, rawSeccompBundles, `bench-cs${round}`, 'a raw runc run -d with the seccomp filter'));
      if (b.dockerCli) {
        await settle();
        const dt0 = performance.now();
        const dr = await Promise.all(Array.from({ length: n }, () => b.docker(['run', '-d', 'busybox', 'sleep', '60'])));
        dockerRounds.push(performance.now() - dt0);
        await b.berth(['rm', '-f', ...dr.filter((r) => r.code === 0).map((r) => r.stdout.trim())]);
        if (dr.some((r) => r.code !== 0)) throw new Error(`docker run -d failed: ${dr.find((r) => r.code !== 0).stderr.trim()}`);
      }
      if (b.engine) {
        await settle();
        const et0 = performance.now();
        const er = await Promise.all(Array.from({ length: n }, () => b.engine.docker(['run', '-d', 'busybox', 'sleep', '60'])));
        engineRounds.push(performance.now() - et0);
        const up = (await b.engine.dockerOk(['ps', '-q'])).stdout.split('\n').filter(Boolean).length;
        await b.engine.removeAll();
        if (er.some((r) => r.code !== 0)) throw new Error(`docker run -d (Docker Engine) failed: ${er.find((r) => r.code !== 0).stderr.trim()}`);
        if (up !== n) throw new Error(`${up} Docker Engine containers running after ${n} concurrent starts`);
      }
    }
  }
  const sec = (xs) => {
    const s = stats(xs.map((v) => v / 1000));
    return { ...s, samples: xs.map((v) => Math.round(v) / 1000) };
  };
  const anchors = {};
  if (rawRounds.length) anchors[`raw runc run -d ×${n} (floor)`] = sec(rawRounds);
  if (rawSeccompRounds.length) anchors[`raw runc run -d ×${n} with berth's seccomp filter`] = sec(rawSeccompRounds);
  if (dockerRounds.length) anchors[`docker CLI ×${n} → berth daemon`] = sec(dockerRounds);
  if (engineRounds.length) anchors[`${b.engineLabel} ×${n}`] = sec(engineRounds);
  return { unit: 's', size: n, title: `run -d ×${n} concurrently, until all running`, berth: sec(berthRounds), anchors, extras: { [`berth rm -f of ${n} (one call)`]: sec(rmRounds) } };
}

async function benchPs(b, o) {
  const before = (await b.containerIds()).length;
  const t0 = performance.now();
  const created = await pool(Array.from({ length: o.psCount }), 4, () => b.berth(['create', 'busybox', 'true']));
  const createMs = performance.now() - t0;
  const bad = created.filter((r) => r.code !== 0);
  if (bad.length) throw new Error(`${bad.length} berth create failed: ${bad[0].stderr.trim()}`);
  const present = before + o.psCount;
  const check = (r) => {
    if (r.code !== 0) throw new Error(`ps exited ${r.code}: ${r.stderr.trim()}`);
    const lines = r.stdout.split('\n').filter(Boolean).length;
    if (lines !== present + 1) throw new Error(`ps -a printed ${lines} lines, expected ${present + 1}`);
    return r.ms;
  };
  const subjects = { berth: async () => check(await b.berth(['ps', '-a'])) };
  if (o.anchors) {
    subjects['node -e 0 (Node start floor)'] = timed(() => exec(process.execPath, ['-e', '0'], { env: b.cleanEnv }));
    if (b.dockerCli) subjects['docker CLI → berth daemon'] = async () => check(await b.docker(['ps', '-a']));
    if (b.engine) {
      const made = await pool(Array.from({ length: present }), 4, () => b.engine.docker(['create', 'busybox', 'true']));
      if (made.some((r) => r.code !== 0)) throw new Error(`docker create (Docker Engine) failed: ${made.find((r) => r.code !== 0).stderr.trim()}`);
      subjects[b.engineLabel] = async () => check(await b.engine.docker(['ps', '-a']));
    }
  }
  const res = await interleaved(subjects, o.runs, o.warmups);
  await b.engine?.removeAll();
  const rmStart = performance.now();
  await b.removeAll();
  const rmMs = performance.now() - rmStart;
  return {
    unit: 'ms',
    size: present,
    title: `ps -a with ${present} containers`,
    berth: res.berth,
    anchors: withoutKey(res, 'berth'),
    extras: { [`create ${o.psCount} (4 at a time), total`]: { n: 1, median: Math.round(createMs) }, [`rm -f ${present} (batches of 50), total`]: { n: 1, median: Math.round(rmMs) } },
  };
}

async function benchRss(b, o) {
  // Per-container monitor: conmon processes of this daemon while o.monitors containers run.
  await b.removeAll();
  const runs = await pool(Array.from({ length: o.monitors }), 5, () => b.berth(['run', '-d', 'busybox', 'sleep', '60']));
  if (runs.some((r) => r.code !== 0)) throw new Error(`run -d failed: ${runs.find((r) => r.code !== 0).stderr.trim()}`);
  await sleep(500);
  const conmons = processesWith(b.execRoot, 'conmon').map((p) => ({ pid: p.pid, rssKb: procStatus(p.pid)?.rssKb ?? NaN, pssKb: pssKb(p.pid) }));
  const withMonitors = procStatus(b.daemon.pid);
  await b.removeAll();
  if (conmons.length !== o.monitors) b.notes.push(`rss: found ${conmons.length} conmon processes for ${o.monitors} running containers`);
  // Daemon idle: after everything above, no containers left, no request for 2.5 s. The daemon
  // runs one full collection 1.5 s after the last request of a burst (src/daemon/main.ts);
  // what it holds 1 s after the last request, before that, is printed too.
  const left = (await b.containerIds()).length;
  await sleep(1000);
  const soon = procStatus(b.daemon.pid);
  await sleep(1500);
  const idle = procStatus(b.daemon.pid);
  const anchors = {};
  if (o.anchors) {
    // The Node floor: an idle node process with an empty event loop.
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore', env: b.cleanEnv });
    children.add(child);
    await sleep(500);
    const st = procStatus(child.pid);
    child.kill('SIGKILL');
    children.delete(child);
    if (st) anchors['idle node process (Node floor)'] = { n: 1, median: mib(st.rssKb) };
    if (b.engine) {
      // After its share of the same workload, its containers gone, idle for as long.
      await b.engine.removeAll();
      await sleep(2500);
      const r = b.engine.rss();
      if (r.dockerd !== undefined && r.containerd !== undefined) anchors[`${b.engineLabel}: dockerd + containerd`] = { n: 1, median: mib(r.dockerd + r.containerd) };
    }
  }
  return {
    daemon: {
      unit: 'MiB',
      containersLeft: left,
      berth: { n: 1, median: mib(idle.rssKb) },
      anchors,
      extras: {
        'daemon VmHWM (peak RSS over the whole run)': { n: 1, median: mib(idle.hwmKb) },
        'daemon RSS 1 s after the last request (before its idle collection)': { n: 1, median: mib(soon.rssKb) },
        'daemon RSS right after start + import': { n: 1, median: mib(b.rssAtStart.rssKb) },
        [`daemon RSS with ${o.monitors} containers running`]: { n: 1, median: mib(withMonitors.rssKb) },
      },
    },
    monitor: {
      unit: 'MiB',
      monitors: conmons.length,
      berth: stats(conmons.map((c) => mib(c.rssKb))),
      anchors: {},
      extras: { 'conmon PSS (shared pages split among sharers)': stats(conmons.map((c) => mib(c.pssKb))) },
    },
  };
}

function withoutKey(obj, key) {
  const { [key]: _drop, ...rest } = obj;
  return rest;
}

// ---- targets, references and the report ---------------------------------------------------

/** The issue's targets and the figures it quotes, which were measured elsewhere. */
const TARGETS = {
  'run-rm': { title: 'run --rm busybox true', op: '≤', value: 130, unit: 'ms', reference: 'Docker 391 ms, Podman 445 ms, raw runc 49 ms, node -e 0 35 ms' },
  'run-d-rm': { title: 'run -d busybox sleep 60 + rm -f', reference: '—' },
  concurrent: { title: `run -d ×50 concurrently, until all running`, op: '≤', value: 2.5, unit: 's', size: 50, reference: 'Docker 7.9 s, raw runc 0.87 s' },
  ps: { title: 'ps -a with 200 containers', op: '≤', value: 49, unit: 'ms', size: 200, reference: 'Docker 49 ms' },
  // Memory is measured in MiB (what /proc reports, in KiB) and judged in MB (10^6 bytes), as the targets say.
  'daemon-rss': { title: 'daemon RSS, idle', op: '<', value: 60, unit: 'MiB', targetUnit: 'MB', reference: 'dockerd+containerd 114 MB' },
  'monitor-rss': { title: 'per-container monitor RSS (conmon)', op: '≤', value: 2, unit: 'MiB', targetUnit: 'MB', reference: 'conmon 2 MB' },
};

function fmt(v, unit) {
  if (v === undefined || Number.isNaN(v)) return '—';
  if (unit === 's') return `${v.toFixed(2)} s`;
  if (unit === 'MiB') return `${v.toFixed(1)} MiB`;
  return `${v.toFixed(1)} ms`;
}

function verdict(key, median, result) {
  const t = TARGETS[key];
  if (t.value === undefined || median === undefined) return { target: '—', meets: '—' };
  // The targets are for 50 concurrent starts and 200 containers: other sizes are not judged.
  if (t.size !== undefined && result?.size !== t.size) return { target: `(${t.op} ${t.value} ${t.unit} at ${t.size})`, meets: 'n/a' };
  const v = t.targetUnit === 'MB' ? (median * 1024 * 1024) / 1e6 : median;
  const ok = t.op === '<' ? v < t.value : v <= t.value;
  const shown = t.targetUnit === 'MB' ? ` (${v.toFixed(1)} MB)` : '';
  return { target: `${t.op} ${t.value} ${t.targetUnit ?? t.unit}`, meets: ok ? `yes${shown}` : `no${shown}, ${((v / t.value - 1) * 100).toFixed(0)}% over` };
}

function table(headers, rows) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(w[i])).join('  ').trimEnd();
  return [line(headers), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

function report(results, meta) {
  const rows = [];
  const extraRows = [];
  for (const [key, r] of Object.entries(results)) {
    const t = { ...TARGETS[key], ...(r.title ? { title: r.title } : {}) };
    const v = verdict(key, r.berth?.median, r);
    const p90 = r.berth?.n > 1 ? fmt(r.berth.p90, r.unit) : '';
    rows.push([t.title, 'berth', fmt(r.berth?.median, r.unit), p90, r.berth?.n ?? 0, '', v.target, v.meets]);
    for (const [name, a] of Object.entries(r.anchors ?? {})) {
      const ratio = a.median > 0 && r.berth?.median !== undefined ? `${(r.berth.median / a.median).toFixed(2)}×` : '—';
      rows.push(['', `anchor: ${name}`, fmt(a.median, r.unit), a.n > 1 ? fmt(a.p90, r.unit) : '', a.n, ratio, '', '']);
    }
    for (const [name, e] of Object.entries(r.extras ?? {})) {
      if (!e) continue;
      extraRows.push([t.title, name, fmt(e.median, r.unit), e.n > 1 ? fmt(e.p90, r.unit) : '', e.n]);
    }
  }
  const tree = meta.tree ? `, tree ${meta.tree.commit}${meta.tree.modifiedFiles ? ` + ${meta.tree.modifiedFiles} modified files` : ''}` : '';
  let s = `\nMeasured in this run — ${meta.date}, ${meta.host.cpus} CPUs, load ${meta.load.start.join(' ')} → ${meta.load.end.join(' ')}, node ${meta.host.node}${tree}\n\n`;
  s += table(['benchmark', 'subject', 'median', 'p90', 'n', 'berth/anchor', 'target', 'meets target'], rows);
  if (extraRows.length) s += `\n\nAlso measured in this run\n\n${table(['benchmark', 'what', 'median', 'p90', 'n'], extraRows)}`;
  const refRows = Object.entries(TARGETS).map(([, t]) => [t.title, t.value !== undefined ? `${t.op} ${t.value} ${t.targetUnit ?? t.unit}` : '—', t.reference]);
  s += `\n\nReference (measured elsewhere, NOT in this run) — the issue's targets and figures\n\n${table(['benchmark', 'target', 'reference (measured elsewhere)'], refRows)}`;
  s += `\n\nOther engines on this machine: ${meta.engines.map((e) => `${e.name}: ${e.status}`).join('; ')}`;
  for (const n of meta.notes) s += `\nnote: ${n}`;
  return `${s}\n`;
}

// ---- main ---------------------------------------------------------------------------------

async function main() {
  const o = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('the benchmarks need root (runc, conmon, overlayfs)');
  if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) throw new Error('berth is not built: run npm run build');
  if (!existsSync(BUSYBOX_TAR)) throw new Error(`${BUSYBOX_TAR} is missing: run scripts/base-images.sh build --only busybox`);
  for (const tool of ['runc', 'conmon', 'tar', 'mount']) if (!(await commandPath(tool))) throw new Error(`${tool} is not installed`);

  const b = new Bench(o);
  let interrupted = false;
  const onSignal = (sig) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${sig}: cleaning up...\n`);
    b.cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const date = new Date().toISOString();
  const loadStart = os.loadavg().map((v) => v.toFixed(2));
  const otherDaemons = processesWith('daemon', undefined).filter((p) => /bin\/berth daemon|dockerd|containerd/.test(p.cmdline)).length;
  const engines = [];
  for (const [name, bin] of [['Docker Engine', 'dockerd'], ['Podman', 'podman']]) {
    const path = await commandPath(bin);
    engines.push({ name, binary: bin, path: path ?? null, status: path ? `installed at ${path} (not measured by this suite)` : 'not installed' });
  }
  const dockerPath = await commandPath('docker');
  const head = await exec('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']);
  const dirty = await exec('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no']);
  const meta = {
    date,
    host: {
      cpus: os.cpus().length,
      kernel: os.release(),
      node: process.version,
      runc: await firstLine('runc', ['--version']),
      conmon: await firstLine('conmon', ['--version']),
      docker: dockerPath ? await firstLine('docker', ['--version']) : null,
    },
    options: { ...o, json: undefined },
    tree: head.code === 0 ? { commit: head.stdout.trim(), modifiedFiles: dirty.stdout.split('\n').filter(Boolean).length } : null,
    load: { start: loadStart, end: [] },
    engines,
    notes: b.notes,
  };
  if (b.removedEnv.length) b.notes.push(`${b.removedEnv.join(', ')} removed from the environment of the timed processes (--keep-env keeps it): it makes every node start parse a CA bundle`);
  if (otherDaemons > 0) b.notes.push(`${otherDaemons} other container daemon process(es) were running on this machine when the bench started: figures are noisy`);
  if (!dockerPath && o.anchors) b.notes.push('the docker CLI is not installed: its anchors are left out');

  const results = {};
  try {
    process.stderr.write(`berth bench: ${o.only.join(', ')} (runs ${o.runs}, warm-ups ${o.warmups})\n`);
    await b.startDaemon();
    process.stderr.write(`daemon up (pid ${b.daemon.pid}, ${b.base})\n`);
    const docker = engines.find((e) => e.binary === 'dockerd');
    if (o.anchors && o.dockerEngine && docker.path && dockerPath) {
      process.stderr.write('starting an isolated Docker Engine... ');
      b.engine = new DockerEngine(join(b.base, 'docker'), exec, b.cleanEnv);
      await b.engine.start(BUSYBOX_TAR);
      b.engineLabel = `Docker Engine ${b.engine.version}`;
      docker.status = `measured: dockerd ${b.engine.version}, isolated (own data root, socket and bridge; --iptables=false, no userland proxy), busybox imported from the same rootfs tar`;
      process.stderr.write(`${b.engine.version}\n`);
    } else if (docker.path) {
      docker.status = `installed at ${docker.path}, not measured (${!o.anchors ? '--no-anchors' : !o.dockerEngine ? '--no-docker-engine' : 'no docker CLI'})`;
    }
    await b.berthOk(['import', '--change', 'CMD ["sh"]', BUSYBOX_TAR, 'busybox:latest']);
    b.rssAtStart = procStatus(b.daemon.pid);
    b.dockerCli = dockerPath !== undefined && o.anchors;
    const step = async (name, fn) => {
      if (!o.only.includes(name)) return;
      const t0 = performance.now();
      process.stderr.write(`- ${name}... `);
      const r = await fn(b, o);
      const left = await b.removeAll();
      if (left > 0) b.notes.push(`${name}: ${left} container(s) were left and removed`);
      process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      return r;
    };
    const rr = await step('run-rm', benchRunRm);
    if (rr) results['run-rm'] = rr;
    const rd = await step('run-d-rm', benchRunDRm);
    if (rd) results['run-d-rm'] = rd;
    const rc = await step('concurrent', benchConcurrent);
    if (rc) results.concurrent = rc;
    const rp = await step('ps', benchPs);
    if (rp) results.ps = rp;
    const rs = await step('rss', benchRss);
    if (rs) {
      results['daemon-rss'] = rs.daemon;
      results['monitor-rss'] = rs.monitor;
    }
  } catch (e) {
    process.stderr.write(`\nbench failed: ${e instanceof Error ? e.message : String(e)}\n--- daemon log (tail) ---\n${b.daemonLogTail()}\n`);
    await b.cleanup();
    process.exitCode = 1;
    return;
  }
  await b.cleanup();
  meta.load.end = os.loadavg().map((v) => v.toFixed(2));
  process.stdout.write(report(results, meta));
  const out = {
    ...meta,
    results,
    targets: Object.fromEntries(Object.entries(TARGETS).map(([k, t]) => [k, { ...t, verdict: results[k] ? verdict(k, results[k].berth?.median, results[k]) : undefined }])),
    referenceNote: 'targets[*].reference are figures measured elsewhere (quoted by the issue), not in this run',
  };
  mkdirSync(dirname(o.json), { recursive: true });
  writeFileSync(o.json, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`\nresults written to ${o.json}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
