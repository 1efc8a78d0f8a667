import type * as Testcontainers from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBusybox, rootSkipReason, rootTestsEnabled, startDaemon, type TestDaemon } from '../harness.js';

/**
 * Engine API clients other than the docker CLI, unchanged: Testcontainers for Node (and
 * dockerode, which it drives the API with) against berth's socket. Its reaper (Ryuk) is an
 * image from Docker Hub, which this machine cannot reach: it is turned off, and each test
 * stops what it starts.
 */
describe.skipIf(!rootTestsEnabled())(`Testcontainers and dockerode (${rootSkipReason})`, () => {
  let d: TestDaemon;
  let tc: typeof Testcontainers;

  beforeAll(async () => {
    d = await startDaemon();
    loadBusybox(d);
    // Read by Testcontainers when it first looks for a container runtime.
    process.env['DOCKER_HOST'] = d.host;
    process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
    process.env['DOCKER_CONFIG'] = d.env['DOCKER_CONFIG'];
    tc = await import('testcontainers');
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('starts a container with a published port and a wait strategy, execs in it, copies into it, reads its logs, stops it', async () => {
    const c = await new tc.GenericContainer('busybox')
      .withCommand(['sh', '-c', 'mkdir -p /www && echo hello from testcontainers > /www/index.html && echo ready && exec httpd -f -p 8080 -h /www'])
      .withExposedPorts(8080)
      .withCopyContentToContainer([{ content: 'copied in\n', target: '/tmp/copied.txt' }])
      .withLabels({ 'org.example.test': 'clients' })
      .withWaitStrategy(tc.Wait.forLogMessage('ready'))
      .start();
    try {
      const res = await fetch(`http://${c.getHost()}:${c.getMappedPort(8080)}/`);
      expect(await res.text()).toBe('hello from testcontainers\n');
      expect(await c.exec(['cat', '/tmp/copied.txt'])).toMatchObject({ exitCode: 0, output: 'copied in\n' });
      expect((await c.exec(['sh', '-c', 'exit 3'])).exitCode).toBe(3);
      expect(c.getLabels()['org.example.test']).toBe('clients');
      const logs: string[] = [];
      const stream = await c.logs();
      await new Promise<void>((resolve) => {
        stream.on('data', (line: string | Buffer) => {
          logs.push(String(line));
          if (logs.join('').includes('ready')) resolve();
        });
      });
      stream.destroy();
      expect(logs.join('')).toContain('ready');
    } finally {
      await c.stop();
    }
    expect(d.docker(['ps', '-aq', '--filter', 'label=org.example.test=clients']).stdout).toBe('');
  });

  it("waits by default for the exposed ports to listen (its checks inside and from the host), and for a healthcheck", async () => {
    const c = await new tc.GenericContainer('busybox').withCommand(['sh', '-c', 'sleep 0.5; exec httpd -f -p 80 -h /']).withExposedPorts(80).withStartupTimeout(20_000).start();
    try {
      expect((await fetch(`http://${c.getHost()}:${c.getMappedPort(80)}/`)).status).toBeGreaterThan(0);
    } finally {
      await c.stop();
    }
    const h = await new tc.GenericContainer('busybox')
      .withCommand(['sh', '-c', 'sleep 1; touch /tmp/ok; exec sleep 60'])
      .withHealthCheck({ test: ['CMD', 'test', '-f', '/tmp/ok'], interval: 200, timeout: 1000, retries: 20 })
      .withWaitStrategy(tc.Wait.forHealthCheck())
      .withStartupTimeout(20_000)
      .start();
    try {
      expect(JSON.parse(d.docker(['inspect', '-f', '{{json .State.Health.Status}}', h.getId()]).stdout)).toBe('healthy');
    } finally {
      await h.stop();
    }
  });

  it('puts containers on a network of their own, where they reach each other by alias', async () => {
    const net = await new tc.Network().start();
    const server = await new tc.GenericContainer('busybox')
      .withCommand(['sh', '-c', 'echo pong > /index.html && echo up && exec httpd -f -p 80 -h /'])
      .withNetwork(net)
      .withNetworkAliases('pongsrv')
      .withWaitStrategy(tc.Wait.forLogMessage('up'))
      .start();
    try {
      const client = await new tc.GenericContainer('busybox').withCommand(['sleep', '60']).withNetwork(net).start();
      try {
        expect(await client.exec(['wget', '-qO-', 'http://pongsrv/'])).toMatchObject({ exitCode: 0, output: 'pong\n' });
      } finally {
        await client.stop();
      }
    } finally {
      await server.stop();
      await net.stop();
    }
  });

  it('dockerode itself: list, inspect, and a container driven through attach and wait', async () => {
    const client = await tc.getContainerRuntimeClient();
    const docker = client.container.dockerode;
    expect((await docker.version()).ApiVersion).toBe('1.44');
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 7'], AttachStdout: true, AttachStderr: true });
    const stream = await c.attach({ stream: true, stdout: true, stderr: true });
    const chunks: Buffer[] = [];
    stream.on('data', (b: Buffer) => chunks.push(b));
    // The output is read to the stream's end: wait answers on its own connection, and may come first.
    const ended = new Promise<void>((resolve) => stream.on('end', () => resolve()));
    await c.start();
    const [{ StatusCode }] = (await Promise.all([c.wait(), ended])) as [{ StatusCode: number }, void];
    expect(StatusCode).toBe(7);
    // Docker's 8-byte frame headers: stdout (1) then stderr (2).
    const all = Buffer.concat(chunks);
    expect([all[0], all.subarray(8, 12).toString(), all[12], all.subarray(20).toString()]).toEqual([1, 'out\n', 2, 'err\n']);
    expect((await c.inspect()).State.ExitCode).toBe(7);
    expect((await docker.listContainers({ all: true })).some((x) => x.Id === c.id)).toBe(true);
    await c.remove();
  });
});
