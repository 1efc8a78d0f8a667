#!/usr/bin/env node
// A/B of berth CLI builds: `node bench/cli-ab.mjs [options] DIR_A DIR_B ...` (as root), where
// each DIR holds a build (bin/, dist/, package.json, node_modules: e.g. a copy of a tree after
// `npm run build`). One isolated daemon (this tree's build, temp --root/--exec-root/socket as in
// bench/run.mjs) serves every build; each command is run by each build in turn, interleaved, so
// load from other work falls on all builds alike. Prints medians, p10/p90 and how often each
// build beat the first. Output of the builds is compared first (times like "5 seconds ago"
// masked). NODE_EXTRA_CA_CERTS is removed, as in bench/run.mjs. See bench/README.md.
//
//   --cmd 'ps -a'    a command to time (repeatable; default: ps -a, run --rm busybox true, --version)
//   --runs N         timed runs per build and command (default 30), after 3 warm-ups
//   --ps-count N     containers created first when a command is `ps` (default 200)
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUSYBOX_TAR = join(process.env.BERTH_CACHE ?? join(REPO, '.cache'), 'images', 'busybox.tar');

const argv = process.argv.slice(2);
const o = { cmds: [], runs: 30, psCount: 200, warmups: 3 };
const dirs = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--cmd') o.cmds.push(argv[++i]);
  else if (a === '--runs') o.runs = Number(argv[++i]);
  else if (a === '--ps-count') o.psCount = Number(argv[++i]);
  else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
  else dirs.push(resolve(a));
}
if (dirs.length === 0) throw new Error('usage: node bench/cli-ab.mjs [--cmd CMD]... [--runs N] [--ps-count N] DIR_A [DIR_B ...]');
if (o.cmds.length === 0) o.cmds = ['ps -a', 'run --rm busybox true', '--version'];

const base = mkdtempSync('/tmp/berth-bench-ab-');
const socket = join(base, 'berth.sock');
const env = { ...process.env, BERTH_HOST: `unix://${socket}`, BERTH_ROOT: join(base, 'root'), BERTH_EXEC_ROOT: join(base, 'run') };
delete env.NODE_EXTRA_CA_CERTS;
const berthOf = (dir) => join(dir, 'bin', 'berth');

function exec(cmd, args) {
  return new Promise((res) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.once('close', (code) => res({ ms: performance.now() - t0, code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

const ping = () =>
  new Promise((res) => {
    const req = request({ socketPath: socket, path: '/_ping' }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on('error', () => res(false));
    req.end();
  });

const fd = openSync(join(base, 'daemon.log'), 'a');
const daemon = spawn(berthOf(REPO), ['daemon', '--root', env.BERTH_ROOT, '--exec-root', env.BERTH_EXEC_ROOT, '--host', env.BERTH_HOST], { env, stdio: ['ignore', fd, fd] });
closeSync(fd);
const daemonExited = new Promise((r) => daemon.once('exit', r));

let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  if (daemon.exitCode === null) {
    const r = await exec(berthOf(REPO), ['ps', '-aq', '--no-trunc']);
    const ids = r.stdout.split('\n').filter(Boolean);
    for (let i = 0; i < ids.length; i += 50) await exec(berthOf(REPO), ['rm', '-f', ...ids.slice(i, i + 50)]);
    daemon.kill('SIGTERM');
    await Promise.race([daemonExited, sleep(15_000)]);
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\040/g, ' '))
    .filter((p) => p.startsWith(`${base}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await exec('umount', ['-l', m]);
  rmSync(base, { recursive: true, force: true });
}
process.once('SIGINT', () => {
  cleanup().finally(() => process.exit(130));
});

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(0, Math.ceil(p * xs.length) - 1))];

try {
  for (let i = 0; i < 500 && !(await ping()); i++) await sleep(20);
  const imp = await exec(berthOf(REPO), ['import', '--change', 'CMD ["sh"]', BUSYBOX_TAR, 'busybox:latest']);
  if (imp.code !== 0) throw new Error(`import busybox: ${imp.stderr}`);
  if (o.cmds.some((c) => c.split(' ')[0] === 'ps')) {
    for (let i = 0; i < o.psCount; i += 4) await Promise.all([0, 1, 2, 3].slice(0, o.psCount - i).map(() => exec(berthOf(REPO), ['create', 'busybox', 'true'])));
  }
  for (const cmd of o.cmds) {
    const args = cmd.split(' ');
    const mask = (r) => `${r.code}\n${r.stdout.replace(/\b\d+ (seconds?|minutes?|hours?) ago/g, 'X ago')}\n${r.stderr}`;
    const first = mask(await exec(berthOf(dirs[0]), args));
    for (const d of dirs.slice(1)) if (mask(await exec(berthOf(d), args)) !== first) process.stdout.write(`!! output of \`berth ${cmd}\` differs between ${dirs[0]} and ${d}\n`);
    const times = dirs.map(() => []);
    const load0 = os.loadavg()[0];
    for (let i = 0; i < o.warmups + o.runs; i++) {
      for (let k = 0; k < dirs.length; k++) {
        const r = await exec(berthOf(dirs[k]), args);
        if (r.code !== 0 && !args.includes('--version')) throw new Error(`${dirs[k]}: berth ${cmd} exited ${r.code}: ${r.stderr}`);
        if (i >= o.warmups) times[k].push(r.ms);
      }
    }
    process.stdout.write(`\nberth ${cmd}: ${o.runs} runs each, interleaved, load ${load0.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}\n`);
    dirs.forEach((d, k) => {
      const wins = k === 0 ? '' : `, faster than the first in ${times[k].filter((t, i) => t < times[0][i]).length}/${o.runs}`;
      process.stdout.write(`  ${d}: median ${median(times[k]).toFixed(1)} ms (p10 ${pct(times[k], 0.1).toFixed(1)}, p90 ${pct(times[k], 0.9).toFixed(1)})${wins}\n`);
    });
  }
} finally {
  await cleanup();
}
