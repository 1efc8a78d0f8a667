#!/usr/bin/env node
// Networking benchmarks (as root): `node bench/network.mjs [--runs N]`.
//  - net-start: `berth run -d --network benchnet -p PORT:80 busybox sleep 60` (timed; each
//    container removed afterwards, untimed),
//    against `run -d --network none` (the same start without networking) in the same run,
//    and Docker's: the one running on /var/run/docker.sock, or else, when dockerd is installed,
//    an isolated Docker Engine started for the run (bench/dockerd.mjs: own data root and bridge,
//    host firewall untouched, published ports through docker-proxy).
//  - dns: time per name lookup of a container name from inside a container (busybox nslookup,
//    200 lookups in one shell loop), against the same loop starting `busybox true` (no DNS).
// Prints medians; figures measured elsewhere are labelled as such.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerEngine } from './dockerd.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BERTH = join(REPO, 'bin', 'berth');
const BUSYBOX_TAR = join(process.env.BERTH_CACHE ?? join(REPO, '.cache'), 'images', 'busybox.tar');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;

function exec(cmd, args, env) {
  return new Promise((res) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => res({ code, out, err }));
  });
}

async function must(cmd, args, env) {
  const r = await exec(cmd, args, env);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.err || r.out}`);
  return r.out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

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

async function timeMs(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** `client`: the command prefix (`node bin/berth` or `docker`); `args`: the run arguments. */
async function startCycle(env, client, args) {
  const samples = [];
  for (let i = 0; i < RUNS + 2; i++) {
    let id = '';
    const ms = await timeMs(async () => {
      id = (await must(client[0], [...client.slice(1), ...args], env)).trim();
    });
    await must(client[0], [...client.slice(1), 'rm', '-f', id], env);
    if (i >= 2) samples.push(ms);
  }
  return median(samples);
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('run as root');
  if (!existsSync(BUSYBOX_TAR)) throw new Error(`${BUSYBOX_TAR} is missing: run scripts/base-images.sh build --only busybox`);
  const base = await mkdtemp(join(tmpdir(), 'berth-bench-net-'));
  const socket = join(base, 's.sock');
  const env = { ...process.env, BERTH_HOST: `unix://${socket}`, DOCKER_HOST: `unix://${socket}`, BERTH_ROOT: join(base, 'root'), BERTH_EXEC_ROOT: join(base, 'run') };
  const daemon = spawn(BERTH, ['daemon', '--root', join(base, 'root'), '--exec-root', join(base, 'run'), '--host', `unix://${socket}`], { env, stdio: 'ignore' });
  try {
    for (let i = 0; i < 500 && !(await ping(socket)); i++) await new Promise((r) => setTimeout(r, 20));
    await must(process.execPath, [BERTH, 'import', '--change', 'CMD ["sh"]', BUSYBOX_TAR, 'busybox:latest'], env);
    await must(process.execPath, [BERTH, 'network', 'create', 'benchnet'], env);
    const b = [process.execPath, BERTH];
    const withNet = await startCycle(env, b, ['run', '-d', '--network', 'benchnet', '-p', '18765:80', 'busybox', 'sleep', '60']);
    const bridgeNoPort = await startCycle(env, b, ['run', '-d', '--network', 'benchnet', 'busybox', 'sleep', '60']);
    const noNet = await startCycle(env, b, ['run', '-d', '--network', 'none', 'busybox', 'sleep', '60']);
    let docker = 'not measured: no Docker engine running on /var/run/docker.sock and dockerd not installed';
    let dockerMs;
    const dockerCycle = async (denv, what) => {
      await must('docker', ['network', 'create', 'benchnet'], denv);
      try {
        dockerMs = await startCycle(denv, ['docker'], ['run', '-d', '--network', 'benchnet', '-p', '18766:80', 'busybox', 'sleep', '60']);
        docker = `${dockerMs.toFixed(1)} ms (${what})`;
      } finally {
        await exec('docker', ['network', 'rm', 'benchnet'], denv);
      }
    };
    if (existsSync('/var/run/docker.sock') && (await ping('/var/run/docker.sock'))) {
      await dockerCycle({ ...process.env, DOCKER_HOST: 'unix:///var/run/docker.sock' }, 'the Docker running on this machine');
    } else if ((await exec('sh', ['-c', 'command -v dockerd'], process.env)).code === 0) {
      const engine = new DockerEngine(join(base, 'docker'), async (cmd, args, opts = {}) => {
        const r = await exec(cmd, args, opts.env ?? process.env);
        return { code: r.code, stdout: r.out, stderr: r.err };
      }, process.env, { userlandProxy: true });
      try {
        await engine.start(BUSYBOX_TAR);
        await dockerCycle(engine.env, `Docker Engine ${engine.version}, isolated, docker-proxy`);
      } finally {
        await engine.stop();
      }
    }

    // DNS: 200 lookups in one loop; the same loop with an IP literal is the floor (process starts).
    const web = (await must(process.execPath, [BERTH, 'run', '-d', '--name', 'web', '--network', 'benchnet', 'busybox', 'sleep', '300'], env)).trim();
    // Timed from the host around one exec of the whole loop (busybox date has no nanoseconds).
    const client = (await must(process.execPath, [BERTH, 'run', '-d', '--network', 'benchnet', 'busybox', 'sleep', '300'], env)).trim();
    const loop = (cmd) => `i=0; while [ $i -lt 200 ]; do ${cmd} >/dev/null 2>&1 || exit 1; i=$((i+1)); done`;
    const timedLoop = async (cmd) => (await timeMs(() => must(process.execPath, [BERTH, 'exec', client, 'sh', '-c', loop(cmd)], env))) / 200;
    await timedLoop('nslookup web'); // warm-up
    const perName = median([await timedLoop('nslookup web'), await timedLoop('nslookup web'), await timedLoop('nslookup web')]);
    // The floor: starting a busybox applet 200 times, no DNS at all.
    const perLiteral = median([await timedLoop('busybox true'), await timedLoop('busybox true'), await timedLoop('busybox true')]);
    await must(process.execPath, [BERTH, 'rm', '-f', client], env);
    await must(process.execPath, [BERTH, 'rm', '-f', web], env);

    const rows = [
      ['run -d, user network + 1 published port', `${withNet.toFixed(1)} ms`],
      ['run -d, user network, no port', `${bridgeNoPort.toFixed(1)} ms`],
      ['run -d, --network none (no networking)', `${noNet.toFixed(1)} ms`],
      ['networking cost (port − none)', `${(withNet - noNet).toFixed(1)} ms`],
      ['Docker run -d, user network + 1 published port', docker],
      ...(dockerMs !== undefined ? [['berth / Docker (run -d, user network + 1 published port)', `${(withNet / dockerMs).toFixed(2)}×`]] : []),
      ['nslookup of a container name, per lookup', `${perName.toFixed(2)} ms`],
      ['a busybox applet start (no DNS), per run', `${perLiteral.toFixed(2)} ms`],
      ['DNS lookup (nslookup − applet start)', `${(perName - perLiteral).toFixed(2)} ms`],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    console.log(`berth networking benchmarks, medians of ${RUNS} runs (measured in this run):`);
    for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
  } catch (e) {
    console.error(`bench/network: ${e.message}`);
    process.exitCode = 1;
  } finally {
    const left = (await exec(process.execPath, [BERTH, 'ps', '-aq'], env)).out.split('\n').filter(Boolean);
    if (left.length > 0) await exec(process.execPath, [BERTH, 'rm', '-f', ...left], env);
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    await rm(base, { recursive: true, force: true }).catch(() => undefined);
  }
}

main().catch((e) => {
  console.error(`bench/network: ${e.message}`);
  process.exit(1);
});
