import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, inspectField, loadBusybox, rootSkipReason, rootTestsEnabled, startDaemon, waitFor, type TestDaemon } from '../harness.js';

/**
 * Bridge networks through the stock docker CLI: names resolved by the embedded DNS server,
 * published ports from the host, outbound NAT, isolation, --internal, host/none/container
 * modes, connect/disconnect, and nothing left on the host once the daemon stops.
 */

const sh = (cmd: string) => spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
// busybox's static wget crashes with -T: bound it with timeout(1) instead.
const HTTPD = (text: string) => `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`;

/** Everything on the host that belongs to one daemon: its chains, bridges, veths and namespaces. */
function hostObjects(d: TestDaemon, ids: string[]): string[] {
  const out: string[] = [];
  const tag = d.tag;
  for (const l of sh('iptables-save').stdout.split('\n')) if (l.includes(`BERTH-${tag}`)) out.push(`rule: ${l}`);
  for (const l of sh('ip -o link show').stdout.split('\n')) {
    const name = (l.split(': ')[1] ?? '').split('@')[0] ?? '';
    if (name === `berth${tag}` || d.bridges.includes(name)) out.push(`link: ${name}`);
  }
  for (const l of sh('ip netns list').stdout.split('\n')) {
    if (ids.some((id) => l.startsWith(`berth-${id.slice(0, 12)}`))) out.push(`netns: ${l}`);
  }
  return out;
}

describe.skipIf(!rootTestsEnabled())(`networking (${rootSkipReason})`, () => {
  let d: TestDaemon;
  const seen: string[] = [];

  beforeAll(async () => {
    d = await startDaemon();
    loadBusybox(d);
  });
  afterAll(async () => {
    await d?.stop();
  });

  const run = (args: string[]) => {
    const r = d.docker(['run', '-d', ...args]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    seen.push(id);
    return id;
  };

  it('lists the three built-in networks', () => {
    const r = d.docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['bridge bridge', 'host host', 'none null']);
  });

  it("a container's first instruction finds its address, loopback and default route in place", () => {
    // The runtime creates the container while its namespace is still being set up inside;
    // the process may only start once that is done.
    for (let i = 0; i < 3; i++) {
      const r = d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'ip -o -4 addr show; ip route show default']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/\blo\s+inet 127\.0\.0\.1\/8/);
      expect(r.stdout).toMatch(/\beth0\s+inet \d+\.\d+\.\d+\.\d+\/\d+/);
      expect(r.stdout).toMatch(/^default via \d+\.\d+\.\d+\.\d+ dev eth0/m);
    }
  });

  it('containers on a user network reach each other by name, aliases answer round-robin', () => {
    expect(d.docker(['network', 'create', 'appnet']).code).toBe(0);
    d.bridges.push(`br-${inspectField(d, 'appnet', '{{.Id}}').slice(0, 12)}`);
    run(['--name', 'web', '--network', 'appnet', '--network-alias', 'www', 'busybox', 'sh', '-c', HTTPD('from-web')]);
    run(['--name', 'web2', '--network', 'appnet', '--network-alias', 'www', 'busybox', 'sh', '-c', HTTPD('from-web2')]);
    const get = (url: string) => d.docker(['run', '--rm', '--network', 'appnet', 'busybox', 'sh', '-c', `timeout 5 wget -qO- ${url}`]);
    const web = waitFor(() => (get('http://web/').stdout === 'from-web\n' ? true : undefined), 'httpd in web');
    return web.then(() => {
      expect(get('http://web2.appnet/').stdout).toBe('from-web2\n');
      const both = d.docker(['run', '--rm', '--network', 'appnet', 'busybox', 'sh', '-c', 'for i in 1 2 3 4; do timeout 5 wget -qO- http://www/; done']);
      expect(new Set(both.stdout.split('\n').filter(Boolean))).toEqual(new Set(['from-web', 'from-web2']));
      // The default bridge resolves no container names (Docker's rule).
      expect(d.docker(['run', '--rm', 'busybox', 'nslookup', 'web']).code).not.toBe(0);
      // Inspect shows addresses in Docker's shape.
      const ip = inspectField(d, 'web', '{{.NetworkSettings.Networks.appnet.IPAddress}}');
      expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(d.docker(['network', 'inspect', 'appnet', '-f', '{{range .Containers}}{{.Name}} {{end}}']).stdout.trim().split(' ').sort()).toEqual(['web', 'web2']);
    });
  });

  it('a published port answers on localhost and the host address, and from another container', async () => {
    run(['--name', 'pub', '-p', '18080:80', 'busybox', 'sh', '-c', HTTPD('published')]);
    await waitFor(() => (sh('curl -s -m 2 http://127.0.0.1:18080/').stdout === 'published\n' ? true : undefined), 'published port on localhost');
    const hostIp = sh("ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1").stdout.trim();
    expect(sh(`curl -s -m 2 http://${hostIp}:18080/`).stdout).toBe('published\n');
    expect(d.docker(['run', '--rm', 'busybox', 'sh', '-c', `timeout 5 wget -qO- http://${hostIp}:18080/`]).stdout).toBe('published\n');
    // The container itself, through the host (hairpin on its bridge port).
    expect(d.docker(['exec', 'pub', 'sh', '-c', `timeout 5 wget -qO- http://${hostIp}:18080/`]).stdout).toBe('published\n');
    expect(d.docker(['port', 'pub']).stdout).toBe('80/tcp -> 0.0.0.0:18080\n');
    expect(d.docker(['ps', '--filter', 'name=pub', '--format', '{{.Ports}}']).stdout.trim()).toBe('0.0.0.0:18080->80/tcp');
  });

  it('-p 127.0.0.1:PORT:80 answers on localhost only; a host port range takes its first free port', async () => {
    run(['--name', 'local', '-p', '127.0.0.1:18082:80', 'busybox', 'sh', '-c', HTTPD('local-only')]);
    await waitFor(() => (sh('curl -s -m 2 http://127.0.0.1:18082/').stdout === 'local-only\n' ? true : undefined), 'localhost-bound port');
    const hostIp = sh("ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1").stdout.trim();
    expect(sh(`curl -s -m 2 http://${hostIp}:18082/`).stdout).toBe('');
    expect(d.docker(['port', 'local', '80']).stdout).toBe('127.0.0.1:18082\n');
    run(['--name', 'ranged', '-p', '18083-18085:80', 'busybox', 'sleep', '60']);
    run(['--name', 'ranged2', '-p', '18083-18085:80', 'busybox', 'sleep', '60']);
    expect(d.docker(['port', 'ranged', '80']).stdout).toBe('0.0.0.0:18083\n');
    expect(d.docker(['port', 'ranged2', '80']).stdout).toBe('0.0.0.0:18084\n');
  });

  it('a port already in use is refused and leaves no namespace behind', () => {
    const before = sh('ip netns list').stdout;
    const r = d.docker(['run', '-d', '--name', 'clash', '-p', '18080:80', 'busybox', 'sleep', '60']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Bind for 0.0.0.0:18080 failed: port is already allocated');
    expect(sh('ip netns list').stdout).toBe(before);
    seen.push(inspectField(d, 'clash', '{{.Id}}'));
  });

  it('-p with no host port picks one, -P publishes EXPOSE', () => {
    run(['--name', 'rnd', '-p', '80', '--expose', '81', 'busybox', 'sleep', '60']);
    const port = Number(inspectField(d, 'rnd', '{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}'));
    expect(port).toBeGreaterThanOrEqual(32768);
    run(['--name', 'all', '-P', '--expose', '7000', 'busybox', 'sleep', '60']);
    expect(d.docker(['port', 'all', '7000']).stdout).toMatch(/^0\.0\.0\.0:\d+\n$/);
  });

  it('containers reach the outside through NAT (the Debian mirror)', () => {
    const r = d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'timeout 20 wget -qO- http://deb.debian.org/debian/dists/bookworm/Release | head -1']);
    expect(r.stdout).toBe('Origin: Debian\n');
  });

  it('an --internal network cannot reach out; different networks are isolated', () => {
    expect(d.docker(['network', 'create', '--internal', 'closed']).code).toBe(0);
    d.bridges.push(`br-${inspectField(d, 'closed', '{{.Id}}').slice(0, 12)}`);
    const out = d.docker(['run', '--rm', '--network', 'closed', 'busybox', 'sh', '-c', 'timeout 5 wget -qO- http://deb.debian.org/ >/dev/null 2>&1; echo $?']);
    expect(out.stdout.trim()).not.toBe('0');
    const webIp = inspectField(d, 'web', '{{.NetworkSettings.Networks.appnet.IPAddress}}');
    const cross = d.docker(['run', '--rm', 'busybox', 'sh', '-c', `timeout 3 wget -qO- http://${webIp}/ >/dev/null 2>&1; echo $?`]);
    expect(cross.stdout.trim()).not.toBe('0');
  });

  it('host, none and container network modes', () => {
    expect(d.docker(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ip -o addr | grep -c inet']).stdout.trim()).toBe('2'); // lo v4 + v6
    const hostName = sh('hostname').stdout.trim();
    expect(d.docker(['run', '--rm', '--network', 'host', 'busybox', 'hostname']).stdout.trim()).toBe(hostName);
    const id = run(['--name', 'owner', 'busybox', 'sleep', '60']);
    const ip = inspectField(d, 'owner', '{{.NetworkSettings.IPAddress}}');
    const joined = d.docker(['run', '--rm', '--network', 'container:owner', 'busybox', 'sh', '-c', 'hostname; ip -o -4 addr show eth0']);
    expect(joined.stdout).toContain(id.slice(0, 12));
    expect(joined.stdout).toContain(ip);
  });

  it('connect and disconnect a running container', () => {
    run(['--name', 'mover', 'busybox', 'sleep', '60']);
    expect(d.docker(['network', 'connect', '--alias', 'moved', 'appnet', 'mover']).code).toBe(0);
    expect(d.docker(['run', '--rm', '--network', 'appnet', 'busybox', 'ping', '-c1', '-W2', 'moved']).code).toBe(0);
    expect(d.docker(['network', 'disconnect', 'appnet', 'mover']).code).toBe(0);
    expect(d.docker(['exec', 'mover', 'sh', '-c', 'ip -o -4 addr | grep -c eth1']).stdout.trim()).toBe('0');
    const rm = d.docker(['network', 'rm', 'appnet']);
    expect(rm.code).not.toBe(0);
    expect(rm.stderr).toContain('has active endpoints');
  });

  it('--ip at run and at connect: the address asked for, once; refused on the default bridge', () => {
    expect(d.docker(['network', 'create', '--subnet', '10.213.77.0/24', 'fixednet']).code).toBe(0);
    d.bridges.push(`br-${inspectField(d, 'fixednet', '{{.Id}}').slice(0, 12)}`);
    for (const cli of [d.berth, d.docker]) {
      const r = cli(['run', '-d', '--name', `fixed-${cli === d.berth ? 'b' : 'd'}`, '--network', 'fixednet', '--ip', cli === d.berth ? '10.213.77.50' : '10.213.77.51', 'busybox', 'sleep', '60']);
      expect(r.code).toBe(0);
    }
    expect(inspectField(d, 'fixed-b', '{{.NetworkSettings.Networks.fixednet.IPAddress}}')).toBe('10.213.77.50');
    expect(d.docker(['exec', 'fixed-d', 'ip', '-o', '-4', 'addr', 'show', 'eth0']).stdout).toContain('10.213.77.51/24');
    const taken = d.berth(['run', '--rm', '--network', 'fixednet', '--ip', '10.213.77.50', 'busybox', 'true']);
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toMatch(/10\.213\.77\.50/);
    run(['--name', 'late', 'busybox', 'sleep', '60']);
    expect(d.berth(['network', 'connect', '--ip', '10.213.77.60', 'fixednet', 'late']).code).toBe(0);
    expect(d.docker(['exec', 'late', 'ip', '-o', '-4', 'addr', 'show', 'eth1']).stdout).toContain('10.213.77.60/24');
    const onBridge = d.berth(['run', '--rm', '--ip', '172.30.0.9', 'busybox', 'true']);
    expect(onBridge.code).not.toBe(0);
    expect(onBridge.stderr).toContain('user specified IP address is supported on user defined networks only');
    expect(d.berth(['run', '--rm', '--network', 'fixednet', '--ip', 'nope', 'busybox', 'true']).stderr).toContain('invalid argument "nope" for "--ip" flag');
    expect(d.docker(['rm', '-f', 'fixed-b', 'fixed-d', 'late']).code).toBe(0);
    expect(d.docker(['network', 'rm', 'fixednet']).code).toBe(0);
  });

  it('--mac-address on the default bridge and a user network, through both CLIs, in any of the forms Docker reads', async () => {
    expect(d.docker(['network', 'create', 'macnet']).code).toBe(0);
    d.bridges.push(`br-${inspectField(d, 'macnet', '{{.Id}}').slice(0, 12)}`);
    const address = ['cat', '/sys/class/net/eth0/address'];
    for (const cli of [d.berth, d.docker]) {
      expect(cli(['run', '--rm', '--mac-address', '02:42:AC:11:00:61', 'busybox', ...address])).toEqual({ code: 0, stdout: '02:42:ac:11:00:61\n', stderr: '' });
      // Dashes reached `ip` as they were, which refused them.
      expect(cli(['run', '--rm', '--network', 'macnet', '--mac-address', '02-42-ac-11-00-62', 'busybox', ...address])).toEqual({ code: 0, stdout: '02:42:ac:11:00:62\n', stderr: '' });
    }
    expect(d.berth(['run', '--rm', '--mac-address', 'zz', 'busybox', 'true'])).toMatchObject({ code: 125, stderr: expect.stringContaining('zz is not a valid mac address') });
    // Sent to the daemon as it is, by a client that does not check it: refused at create, naming it, nothing left.
    const before = d.docker(['ps', '-aq']).stdout;
    const bad = await api(d, 'POST', '/v1.44/containers/create', { Image: 'busybox', HostConfig: { NetworkMode: 'macnet' }, NetworkingConfig: { EndpointsConfig: { macnet: { MacAddress: '02:42:zz:11:00:63' } } } });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toEqual({ message: 'invalid MAC address 02:42:zz:11:00:63' });
    expect(d.docker(['ps', '-aq']).stdout).toBe(before);
    expect(d.docker(['network', 'rm', 'macnet']).code).toBe(0);
  });

  it("what is never allowed answers 403, as Docker's errdefs.Forbidden: removing a pre-defined network, connecting twice", async () => {
    const rm = await api(d, 'DELETE', '/v1.44/networks/bridge');
    expect([rm.status, JSON.parse(rm.body)]).toEqual([403, { message: 'bridge is a pre-defined network and cannot be removed' }]);
    const id = d.docker(['run', '-d', '--name', 'twice', 'busybox', 'sleep', '60']).stdout.trim();
    const again = await api(d, 'POST', '/v1.44/networks/bridge/connect', { Container: id });
    expect([again.status, JSON.parse(again.body)]).toEqual([403, { message: 'endpoint with name twice already exists in network bridge' }]);
    expect(d.docker(['network', 'rm', 'bridge']).stderr).toContain('Error response from daemon: bridge is a pre-defined network and cannot be removed');
    d.docker(['rm', '-f', id]);
  });

  it('a network MTU option reaches the container interfaces, at start and at connect', () => {
    expect(d.docker(['network', 'create', '-o', 'com.docker.network.driver.mtu=1400', 'smallmtu']).code).toBe(0);
    expect(d.docker(['run', '--rm', '--network', 'smallmtu', 'busybox', 'cat', '/sys/class/net/eth0/mtu']).stdout).toBe('1400\n');
    run(['--name', 'mtu2', 'busybox', 'sleep', '60']);
    expect(d.docker(['network', 'connect', 'smallmtu', 'mtu2']).code).toBe(0);
    expect(d.docker(['exec', 'mtu2', 'cat', '/sys/class/net/eth1/mtu']).stdout).toBe('1400\n');
    expect(d.docker(['exec', 'mtu2', 'cat', '/sys/class/net/eth0/mtu']).stdout).toBe('1500\n');
  });

  it('--add-host host-gateway, --dns and --hostname land in the generated files', () => {
    const r = d.docker(['run', '--rm', '--hostname', 'box', '--add-host', 'host.docker.internal:host-gateway', '--dns', '192.0.2.53', 'busybox', 'sh', '-c', 'hostname; grep host.docker.internal /etc/hosts; cat /etc/resolv.conf']);
    const gw = inspectField(d, 'bridge', '{{(index .IPAM.Config 0).Gateway}}');
    expect(r.stdout).toContain('box\n');
    expect(r.stdout).toContain(`${gw}\thost.docker.internal`);
    expect(r.stdout).toContain('nameserver 192.0.2.53');
  });

  it('leaves nothing on the host once containers are gone and the daemon stops', async () => {
    const ids = d.docker(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
    seen.push(...ids);
    // While containers run, the check does see the daemon's objects.
    const live = hostObjects(d, seen);
    expect(live.some((o) => o.startsWith('rule: '))).toBe(true);
    expect(live.some((o) => o.startsWith('netns: '))).toBe(true);
    expect(live).toContain(`link: berth${d.tag}`);
    d.docker(['rm', '-f', ...ids]);
    expect(d.docker(['network', 'rm', 'appnet', 'closed']).code).toBe(0);
    await d.stop();
    expect(hostObjects(d, seen)).toEqual([]);
  });
});
