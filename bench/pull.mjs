#!/usr/bin/env node
// Pull throughput: `node bench/pull.mjs` (as root; `npm run build` first).
//
// Starts a local CNCF distribution registry (Debian's docker-registry) on 127.0.0.1 and an
// isolated berth daemon, builds a ~200 MB image of several layers of random data (each layer
// committed from a container that wrote it), pushes it, then times `berth pull` of it into an
// empty store (download, verify, unpack), in turns with `docker pull` into an isolated Docker
// Engine when dockerd is installed, and, when skopeo is installed, `skopeo copy` of the
// same image to a directory (download and verify only: it unpacks nothing), and GNU tar
// unpacking the layer blobs straight from the registry's storage (the floor: no download).
// Prints seconds, MB/s and ratios; writes bench/results/pull.json. Nothing leaves 127.0.0.1.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DockerEngine } from './dockerd.mjs';

/** Pause before each timed run, after a sync (see `flushed`). */
const SETTLE_MS = 3000;
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BERTH = join(REPO, 'bin', 'berth');
const CACHE = process.env.BERTH_CACHE ?? join(REPO, '.cache');
const BUSYBOX_TAR = join(CACHE, 'images', 'busybox.tar');
const DEBIAN_TAR = join(CACHE, 'images', 'debian-bookworm-slim.tar');
/** Host directories that become the layers of `--content files`, those of them that exist. */
const FILE_LAYERS = ['/usr/lib/python3.11', '/usr/include', '/usr/share/perl', join(REPO, 'node_modules')];

const USAGE = `usage: node bench/pull.mjs [options]   (as root)

  --content KIND   what the data layers hold: random (default: --layers files of random data,
                   --size-mb in all; gzip cannot shrink them) or files (an image as real ones
                   are: debian:bookworm-slim from .cache/images, then a layer per host
                   directory of many small, compressible files: python's library, C headers,
                   perl, this repo's node_modules, those that exist; --size-mb and --layers
                   do not apply)
  --tmpfs          everything of the run (the registry's storage, berth's and Docker's data
                   roots) on a tmpfs mounted for it: the engines' own cost, without this
                   machine's disk (creating files on an ext4 after deletions is slow here)
  --size-mb N      total size of the image's data layers (default 200)
  --layers N       data layers (default 4)
  --runs N         timed pulls per tool (default 3; the median is reported)
  --no-skopeo      leave skopeo out
  --no-docker      leave Docker Engine out (by default, when dockerd is installed, an isolated
                   one is started for the run: bench/dockerd.mjs)
  --json PATH      where to write the results (default bench/results/pull.json)
`;

// Figures the issue quotes for pulls, measured elsewhere (125 MB compressed in 5 layers).
const REFERENCE = [
  ['Docker pull', '3.9 s (32 MB/s)'],
  ['Podman pull', '4.7 s'],
  ['skopeo copy (no unpacking)', '0.6 s'],
  ['tar -x of the layers / parallel gunzip (the floor)', '2.5 s / 1.2 s'],
  ['aim for berth', '≤ 2.6 s, at least 1.5× Docker\'s MB/s'],
];

function parseOptions(argv) {
  const o = { content: 'random', sizeMb: 200, layers: 4, runs: 3, skopeo: true, docker: true, json: join(REPO, 'bench', 'results', 'pull.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const int = (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} needs a whole number of at least 1, got ${v}`);
      return n;
    };
    if (a === '--content') {
      o.content = next();
      if (o.content !== 'random' && o.content !== 'files') throw new Error(`--content is random or files, got ${o.content}`);
    } else if (a === '--size-mb') o.sizeMb = int(next());
    else if (a === '--layers') o.layers = int(next());
    else if (a === '--runs') o.runs = int(next());
    else if (a === '--no-skopeo') o.skopeo = false;
    else if (a === '--tmpfs') o.tmpfs = true;
    else if (a === '--no-docker') o.docker = false;
    else if (a === '--json') o.json = resolve(next());
    else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  return o;
}

function have(cmd, args = ['--version']) {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function ping(socket) {
  return new Promise((res) => {
    const req = request({ socketPath: socket, path: '/_ping', timeout: 1000 }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on('error', () => res(false));
    req.end();
  });
}

/** Runs a command to completion (async, so this process stays responsive); throws on failure. */
function sh(cmd, args, env, { quiet = true } = {}) {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', quiet ? 'pipe' : 'inherit', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout?.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.once('close', (code) => (code === 0 ? res(out) : rej(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err.trim()}`))));
  });
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function table(head, rows) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => String(c).padEnd(w[i])).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

async function main() {
  const o = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root: the daemon runs containers to build the image');
  if (!have('docker-registry')) throw new Error('docker-registry is missing: apt-get install docker-registry (scripts/install.sh does)');
  if (!existsSync(BUSYBOX_TAR)) throw new Error(`${BUSYBOX_TAR} is missing: bash scripts/base-images.sh build --only busybox`);
  if (o.content === 'files' && !existsSync(DEBIAN_TAR)) throw new Error(`${DEBIAN_TAR} is missing: bash scripts/base-images.sh build`);
  if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: npm run build');
  const skopeo = o.skopeo && have('skopeo');

  const base = await mkdtemp('/tmp/berth-bench-pull-');
  const procs = [];
  let engine;
  try {
    if (o.tmpfs) await sh('mount', ['-t', 'tmpfs', '-o', 'size=6g,mode=0755', 'berth-bench', base], process.env);
    // --- registry
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    await mkdir(join(base, 'registry'), { recursive: true });
    await writeFile(
      join(base, 'registry.yml'),
      ['version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true', 'storage:', '  filesystem:', `    rootdirectory: ${join(base, 'registry')}`, 'http:', `  addr: ${host}`, ''].join('\n'),
    );
    const reg = spawn('docker-registry', ['serve', join(base, 'registry.yml')], { stdio: 'ignore' });
    procs.push(reg);
    // --- daemon (docker.io goes nowhere: this benchmark never leaves 127.0.0.1)
    const socket = join(base, 'berth.sock');
    const cfg = join(base, 'daemon.json');
    await writeFile(cfg, JSON.stringify({ 'registry-origin-for': { 'docker.io': 'http://127.0.0.1:9' } }));
    const env = { ...process.env, BERTH_HOST: `unix://${socket}`, BERTH_ROOT: join(base, 'root'), BERTH_EXEC_ROOT: join(base, 'run'), BERTH_CONFIG_FILE: cfg, DOCKER_CONFIG: join(base, 'docker-config') };
    const daemon = spawn(BERTH, ['daemon', '--root', env.BERTH_ROOT, '--exec-root', env.BERTH_EXEC_ROOT, '--host', env.BERTH_HOST, '--config-file', cfg], { stdio: 'ignore', env });
    procs.push(daemon);
    for (let i = 0; !(await ping(socket)); i++) {
      if (i > 500) throw new Error('the berth daemon did not start');
      await sleep(20);
    }
    for (let i = 0; ; i++) {
      try {
        const r = await fetch(`http://${host}/v2/`);
        if (r.ok) break;
      } catch {
        // not yet
      }
      if (i > 200) throw new Error('docker-registry did not start');
      await sleep(50);
    }
    const berth = (...args) => sh(process.execPath, [BERTH, ...args], env);

    // --- the image: busybox + N layers of random data, or debian + a layer per host directory,
    // each layer committed from a container that wrote it
    await berth('import', '--change', 'CMD ["sh"]', BUSYBOX_TAR, 'busybox:latest');
    let image = 'busybox:latest';
    const layerDirs = FILE_LAYERS.filter((d) => existsSync(d));
    if (o.content === 'random') {
      process.stderr.write(`building a ${o.sizeMb} MB image of ${o.layers} layers of random data...\n`);
      const per = Math.floor((o.sizeMb * 1_000_000) / o.layers);
      for (let i = 1; i <= o.layers; i++) {
        await berth('run', '--name', `bench-l${i}`, image, 'sh', '-c', `head -c ${per} /dev/urandom > /data${i}`);
        await berth('commit', `bench-l${i}`, `bench/big:${i}`);
        await berth('rm', `bench-l${i}`);
        image = `bench/big:${i}`;
      }
    } else {
      process.stderr.write(`building an image of debian:bookworm-slim and ${layerDirs.length} layers of files (${layerDirs.join(', ')})...\n`);
      await berth('import', '--change', 'CMD ["bash"]', DEBIAN_TAR, 'bench/big:0');
      image = 'bench/big:0';
      for (const [n, dir] of layerDirs.entries()) {
        const i = n + 1;
        await berth('run', '--name', `bench-l${i}`, '-v', `${dir}:/src:ro`, image, 'cp', '-a', '/src', `/data${i}`);
        await berth('commit', `bench-l${i}`, `bench/big:${i}`);
        await berth('rm', `bench-l${i}`);
        image = `bench/big:${i}`;
      }
    }
    const layerCount = o.content === 'random' ? o.layers : layerDirs.length + 1;
    const remote = `${host}/bench/big:1`;
    await berth('tag', image, remote);
    // Every timed run starts on a settled machine: `sync`, so no dirty page cache of the run
    // before is written back during it, then SETTLE_MS for what an engine still does after
    // an rmi (Docker's clean-up after its pull made berth's next pull 1.6 → 2.0 s).
    const flushed = async (run) => {
      await sh('sync', [], env);
      await sleep(SETTLE_MS);
      return timed(run);
    };
    const pushSeconds = await flushed(() => berth('push', remote));
    const manifest = JSON.parse(
      await (await fetch(`http://${host}/v2/bench/big/manifests/1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } })).text(),
    );
    const bytes = manifest.layers.reduce((a, l) => a + l.size, 0) + manifest.config.size;
    const unpacked = Number((await berth('image', 'inspect', '--format', '{{.Size}}', image)).trim());
    const mb = bytes / 1e6;

    // --- berth pull into a store without the image (the busybox base layer stays: 2 MB)
    const drop = async () => {
      const tags = (await berth('images', '--format', '{{.Repository}}:{{.Tag}}')).split('\n').filter((t) => t.startsWith('bench/') || t.startsWith(`${host}/`));
      if (tags.length > 0) await berth('rmi', ...tags);
    };
    await drop();
    // --- Docker Engine, isolated (127.0.0.1 registries are plain HTTP to Docker), started
    // now: berth and Docker pull in turns, so what else the machine does falls on both alike
    let dockerVersion;
    if (o.docker && (await sh('sh', ['-c', 'command -v dockerd && command -v docker'], env).then(() => true, () => false))) {
      engine = new DockerEngine(join(base, 'docker'), async (cmd, args, opts = {}) => {
        const r = spawnSync(cmd, args, { env: opts.env ?? env, encoding: 'utf8', maxBuffer: 64 << 20 });
        return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
      }, env);
      await engine.start(BUSYBOX_TAR);
      dockerVersion = engine.version;
    }
    const berthRuns = [];
    const dockerRuns = [];
    for (let r = 0; r < o.runs; r++) {
      berthRuns.push(await flushed(() => berth('pull', remote)));
      await drop();
      if (engine) {
        dockerRuns.push(await flushed(() => sh('docker', ['pull', '-q', remote], engine.env)));
        await sh('docker', ['rmi', remote], engine.env);
      }
    }
    if (engine) {
      await engine.stop();
      engine = undefined;
    }
    // --- skopeo copy to a directory (no unpacking)
    const skopeoRuns = [];
    if (skopeo) {
      for (let r = 0; r < o.runs; r++) {
        const dir = join(base, `skopeo-${r}`);
        skopeoRuns.push(await flushed(() => sh('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${remote}`, `dir:${dir}`], env)));
        await rm(dir, { recursive: true, force: true });
      }
    }

    // --- the floor: GNU tar (gzip in a process of its own) unpacking the registry's layer blobs,
    // one after another and all at once, as root (owners kept), onto the same file system
    const blob = (digest) => join(base, 'registry', 'docker', 'registry', 'v2', 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7), 'data');
    const untar = async (parallel) => {
      const dirs = manifest.layers.map((_, i) => join(base, `tar-${i}`));
      for (const d of dirs) await mkdir(d);
      const one = (l, i) => sh('tar', ['-xzf', blob(l.digest), '-C', dirs[i]], env);
      const t = await flushed(async () => {
        if (parallel) await Promise.all(manifest.layers.map(one));
        else for (const [i, l] of manifest.layers.entries()) await one(l, i);
      });
      for (const d of dirs) await rm(d, { recursive: true, force: true });
      return t;
    };
    const tarRuns = { serial: [], parallel: [] };
    for (let r = 0; r < o.runs; r++) {
      tarRuns.serial.push(await untar(false));
      tarRuns.parallel.push(await untar(true));
    }

    // --- report
    const berthMedian = median(berthRuns);
    const rows = [['berth pull (download + verify + unpack)', berthMedian.toFixed(2), (mb / berthMedian).toFixed(1), '1.00']];
    if (dockerRuns.length > 0) {
      const d = median(dockerRuns);
      rows.push([`docker pull, Docker Engine ${dockerVersion} (download + verify + unpack)`, d.toFixed(2), (mb / d).toFixed(1), (d / berthMedian).toFixed(2)]);
    }
    if (skopeoRuns.length > 0) {
      const s = median(skopeoRuns);
      rows.push(['skopeo copy to dir: (download + verify)', s.toFixed(2), (mb / s).toFixed(1), (s / berthMedian).toFixed(2)]);
    }
    for (const [k, how] of [['serial', 'one after another'], ['parallel', 'all at once']]) {
      const t = median(tarRuns[k]);
      rows.push([`floor: tar -xzf of the layer blobs, ${how} (no download)`, t.toFixed(2), (mb / t).toFixed(1), (t / berthMedian).toFixed(2)]);
    }
    let what = o.content === 'random' ? `${o.layers} layers of random data` : `debian:bookworm-slim and ${layerDirs.length} layers of files (${layerDirs.join(', ')}), ${(unpacked / 1e6).toFixed(0)} MB unpacked`;
    if (o.tmpfs) what += '; registry and data roots on a tmpfs';
    let out = `\nPull of ${remote}: ${what}, ${layerCount} layers, ${mb.toFixed(1)} MB compressed, from a local docker-registry; median of ${o.runs} runs (this machine, this run)\n\n`;
    out += table(['tool', 'seconds', 'MB/s', 'time (berth = 1.00)'], rows);
    out += `\n\npush by berth (upload, first time): ${pushSeconds.toFixed(2)} s, ${(mb / pushSeconds).toFixed(1)} MB/s`;
    if (!skopeo) out += `\nskopeo: ${o.skopeo ? 'not installed (apt-get install skopeo)' : 'skipped (--no-skopeo)'}`;
    if (dockerRuns.length > 0) out += `\nberth's throughput is ${(median(dockerRuns) / berthMedian).toFixed(2)}× Docker's (the issue's aim: at least 1.5×)`;
    else out += `\nDocker Engine: ${o.docker ? 'dockerd is not installed' : 'skipped (--no-docker)'}`;
    out += `\n\nReference (measured elsewhere, NOT in this run; the issue's figures for 125 MB in 5 layers):\n`;
    if (REFERENCE.length > 0) out += table(['what', 'figure'], REFERENCE) + '\n';
    process.stdout.write(out);
    mkdirSync(dirname(o.json), { recursive: true });
    writeFileSync(
      o.json,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          tmpfs: o.tmpfs === true,
          image: { content: o.content, layers: layerCount, bytes, unpackedBytes: unpacked },
          berth: { runsSeconds: berthRuns, medianSeconds: berthMedian, mbPerSecond: mb / berthMedian },
          ...(dockerRuns.length > 0 ? { docker: { version: dockerVersion, runsSeconds: dockerRuns, medianSeconds: median(dockerRuns), mbPerSecond: mb / median(dockerRuns) } } : {}),
          tarFloor: { serialSeconds: tarRuns.serial, parallelSeconds: tarRuns.parallel },
          ...(skopeoRuns.length > 0 ? { skopeo: { runsSeconds: skopeoRuns, medianSeconds: median(skopeoRuns), mbPerSecond: mb / median(skopeoRuns) } } : {}),
          push: { seconds: pushSeconds, mbPerSecond: mb / pushSeconds },
          referenceNote: 'reference figures are measured elsewhere (the issue quotes them for 125 MB in 5 layers), not in this run',
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    if (engine) await engine.stop().catch((e) => process.stderr.write(`Docker Engine clean-up: ${e.message}\n`));
    for (const p of procs.reverse()) {
      if (p.exitCode === null && p.signalCode === null) {
        const done = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        await Promise.race([done, sleep(15000)]);
      }
    }
    spawnSync('sh', ['-c', `grep -o '${base}[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
    if (o.tmpfs) spawnSync('umount', ['-l', base]);
    await rm(base, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench/pull: ${e.message}\n`);
  process.exit(1);
});
