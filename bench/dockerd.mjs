// Docker Engine as a benchmark anchor: an isolated dockerd (its own data root, exec root,
// socket and bridge) started for one bench run and removed afterwards.
//
// It leaves the host's firewall alone: `--iptables=false --ip-forward=false --ip-masq=false`,
// so Docker still makes a namespace and a veth per container on its bridge (its usual start
// path) but installs no NAT rules; published ports answer through docker-proxy when asked for. The bridge is one the bench
// creates (`-b`), on a /24 that overlaps no host route, and deletes again; a docker0 that
// belongs to a real Docker on the machine is never touched.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Mount points under `base` (not `base` itself), deepest first: the order to unmount them in. */
export function mountsUnder(base) {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\040/g, ' '))
    .filter((p) => p.startsWith(`${base}/`))
    .sort((a, b) => b.length - a.length);
}

export class DockerEngine {
  /**
   * @param {string} base directory for everything of this engine (removed by stop())
   * @param {(cmd: string, args: string[], opts?: object) => Promise<{code: number, stdout: string, stderr: string, ms: number}>} exec
   * @param {NodeJS.ProcessEnv} env environment for the docker CLI (without DOCKER_HOST)
   * @param {{ userlandProxy?: boolean }} opts userlandProxy: published ports through docker-proxy
   *   (with --iptables=false the only way they answer); off by default
   */
  constructor(base, exec, env, opts = {}) {
    this.base = base;
    this.userlandProxy = opts.userlandProxy === true;
    this.exec = exec;
    this.socket = join(base, 'docker.sock');
    this.env = { ...env, DOCKER_HOST: `unix://${this.socket}`, DOCKER_CONFIG: join(base, 'config') };
    this.bridge = `bbench${process.pid.toString(36).slice(-6)}`;
  }

  /** Starts dockerd and imports `busyboxTar` (a root filesystem tar) as busybox:latest, CMD ["sh"]. */
  async start(busyboxTar) {
    await mkdir(this.base, { recursive: true });
    const subnet = await this.freeSubnet();
    const ok = async (cmd, args) => {
      const r = await this.exec(cmd, args);
      if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
      return r;
    };
    await ok('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    this.bridgeMade = true;
    await ok('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', this.bridge]);
    await ok('ip', ['link', 'set', this.bridge, 'up']);
    // Its exec root (containerd's state, runc's, the shims' fifos) on a tmpfs, as `/run` is on a
    // usual host: this machine's `/run` and `/tmp` are ext4, where berth mounts a tmpfs for its
    // own exec root too (src/sys/execroot.ts).
    await mkdir(join(this.base, 'exec'), { recursive: true });
    await ok('mount', ['-t', 'tmpfs', '-o', 'mode=0711', 'tmpfs', join(this.base, 'exec')]);
    this.log = join(this.base, 'dockerd.log');
    await writeFile(join(this.base, 'daemon.json'), '{}\n'); // not the machine's /etc/docker/daemon.json
    const fd = openSync(this.log, 'a');
    this.proc = spawn(
      'dockerd',
      [
        '--data-root', join(this.base, 'data'),
        '--exec-root', join(this.base, 'exec'),
        '--pidfile', join(this.base, 'docker.pid'),
        '--host', `unix://${this.socket}`,
        '--config-file', join(this.base, 'daemon.json'),
        '--bridge', this.bridge,
        '--iptables=false', '--ip-forward=false', '--ip-masq=false', `--userland-proxy=${this.userlandProxy}`,
      ],
      { stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    this.exited = new Promise((r) => this.proc.once('exit', r));
    for (let i = 0; i < 300 && this.proc.exitCode === null; i++) {
      if ((await this.docker(['version', '--format', '{{.Server.Version}}'])).code === 0) break;
      await sleep(100);
    }
    const v = await this.docker(['version', '--format', '{{.Server.Version}}']);
    if (v.code !== 0) throw new Error(`dockerd did not come up: ${this.logTail()}`);
    this.version = v.stdout.trim();
    const imp = await this.docker(['import', '--change', 'CMD ["sh"]', busyboxTar, 'busybox:latest']);
    if (imp.code !== 0) throw new Error(`docker import: ${imp.stderr.trim()}`);
  }

  docker(args, opts = {}) {
    return this.exec('docker', args, { env: this.env, ...opts });
  }

  async dockerOk(args, opts) {
    const r = await this.docker(args, opts);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} (Docker Engine) exited ${r.code}: ${r.stderr.trim()}`);
    return r;
  }

  async removeAll() {
    const r = await this.docker(['ps', '-aq']);
    const ids = r.code === 0 ? r.stdout.split('\n').filter(Boolean) : [];
    for (let i = 0; i < ids.length; i += 50) await this.docker(['rm', '-f', ...ids.slice(i, i + 50)]);
    return ids.length;
  }

  /** VmRSS of dockerd plus the containerd it started (KiB each), found by their command lines. */
  rss() {
    const out = {};
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      let cmd;
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      } catch {
        continue;
      }
      const name = cmd[0]?.split('/').pop();
      if ((name === 'dockerd' || name === 'containerd') && cmd.some((a) => a.startsWith(this.base))) {
        const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) out[name] = (out[name] ?? 0) + Number(m[1]);
      }
    }
    return out;
  }

  logTail() {
    try {
      return readFileSync(this.log, 'utf8').split('\n').slice(-15).join('\n');
    } catch {
      return '(no dockerd log)';
    }
  }

  /** Containers, dockerd (and its containerd and shims), mounts, the bridge, the directory. */
  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      await this.removeAll().catch(() => undefined);
      this.proc.kill('SIGTERM');
      const done = await Promise.race([this.exited.then(() => true), sleep(20_000).then(() => false)]);
      if (!done) this.proc.kill('SIGKILL');
    }
    // Anything of this engine still alive (containerd, shims) names the base in its command line.
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((a) => a.startsWith(this.base))) process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const m of mountsUnder(this.base)) await this.exec('umount', ['-l', m]);
    if (this.bridgeMade && existsSync(`/sys/class/net/${this.bridge}`)) await this.exec('ip', ['link', 'del', this.bridge]);
    await rm(this.base, { recursive: true, force: true });
  }

  /** A 10.199.N.0/24 that no host route overlaps (routes as wide as 10.0.0.0/8 rule all out). */
  async freeSubnet() {
    const routes = (await this.exec('ip', ['-4', '-o', 'route', 'show', 'table', 'all'])).stdout;
    const dsts = routes.split('\n').map((l) => l.trim().split(/\s+/)).map((w) => (w[0] === 'local' || w[0] === 'broadcast' ? w[1] : w[0]) ?? '');
    if (dsts.some((d) => d === 'default' ? false : /^10\.0\.0\.0\/[0-8]$|^10\.199\.0\.0\/(1[0-6]|[0-9])$/.test(d))) throw new Error('10.199.0.0/16 is routed on this machine: no subnet for the Docker bench bridge');
    for (let n = 0; n < 256; n++) if (!dsts.some((d) => d.startsWith(`10.199.${n}.`))) return `10.199.${n}`;
    throw new Error('no free 10.199.N.0/24 for the Docker bench bridge');
  }
}
