// Writes V8's code cache for the CLI bundle: `node scripts/cli-cache.mjs BUNDLE CACHE`, run by
// scripts/build-cli.mjs in a node started with no V8 flags, as bin/berth starts the CLI (V8
// rejects a cache made under other flags).
//
// It compiles and runs the bundle as bin/berth does, then runs `ps -a`, `ps`, `images`,
// `run --rm`, `run -d` and `rm -f` against a stand-in daemon on a temporary socket, so that
// the cache also holds the compiled code of the request, list, table, run and attach paths:
// those functions are then deserialized instead of compiled on every run (~4 ms of
// `berth ps -a`, bench/README.md). Nothing is written outside the temporary directory.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import vm from 'node:vm';

/** What the bundle gets as `require`, as from bin/berth: node's modules only. */
const require = createRequire(import.meta.url);

const [file, out] = process.argv.slice(2);
const script = new vm.Script(readFileSync(file, 'utf8'), { filename: file });
const cli = { exports: {} };
script.runInThisContext()(cli.exports, require, cli, file, dirname(file));

const CONTAINERS = [0, 1, 2].map((i) => ({
  Id: String(i).repeat(64),
  Names: [`/c${i}`],
  Image: 'busybox',
  ImageID: `sha256:${'a'.repeat(64)}`,
  Command: 'sh',
  Created: 1700000000,
  Ports: [{ PrivatePort: 80, PublicPort: 8080, Type: 'tcp', IP: '0.0.0.0' }],
  Labels: {},
  State: 'exited',
  Status: 'Exited (0) 2 hours ago',
  Mounts: [],
  NetworkSettings: { Networks: { bridge: {} } },
}));
const IMAGES = [{ Id: `sha256:${'a'.repeat(64)}`, RepoTags: ['busybox:latest'], RepoDigests: [], Created: 1700000000, Size: 4261550, Containers: -1 }];

const dir = mkdtempSync(join(tmpdir(), 'berth-cli-cache-'));
const socket = join(dir, 'api.sock');
const ID = 'c'.repeat(64);
/** Attach and wait connections of a `run`, answered once its start request has come. */
const afterStart = [];
const json = (status, value) => {
  const body = JSON.stringify(value);
  return `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
};
const server = createServer((conn) => {
  let head = '';
  const onData = (d) => {
    head += d.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    conn.removeListener('data', onData);
    const [method, path = ''] = head.split(' ');
    if (method === 'GET') return conn.end(json('200 OK', path.startsWith('/v1.44/images/json') ? IMAGES : CONTAINERS));
    if (path.startsWith('/v1.44/containers/create')) return conn.end(json('201 Created', { Id: ID, Warnings: [] }));
    if (path.includes('/attach')) {
      conn.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
      // One line on stdout, in Docker's 8-byte framing, then the end of the stream.
      afterStart.push(() => conn.end(Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 3]), Buffer.from('hi\n')])));
      return;
    }
    if (path.includes('/wait')) {
      conn.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
      const body = '{"Error":null,"StatusCode":0}\n';
      afterStart.push(() => setTimeout(() => conn.end(`${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`), 5));
      return;
    }
    if (path.includes('/start')) {
      conn.end('HTTP/1.1 204 No Content\r\n\r\n');
      for (const answer of afterStart.splice(0)) answer();
      return;
    }
    if (method === 'DELETE') return conn.end('HTTP/1.1 204 No Content\r\n\r\n');
    conn.end(json('404 Not Found', { message: `stand-in daemon: no ${method} ${path}` }));
  };
  conn.on('data', onData);
});

async function train() {
  const sink = () => new Writable({ write: (_chunk, _enc, cb) => cb() });
  const io = { stdout: sink(), stderr: sink(), stdin: () => process.stdin, env: { BERTH_HOST: `unix://${socket}` } };
  for (const argv of [['ps', '-a'], ['ps'], ['images'], ['run', '--rm', 'busybox', 'true'], ['run', '-d', 'busybox', 'true'], ['rm', '-f', 'c1'], ['create', 'busybox', 'true'], ['start', 'c1']]) {
    const status = await cli.exports.main(argv, io);
    if (status !== 0) throw new Error(`berth ${argv.join(' ')} exited ${status} against the stand-in daemon`);
  }
}

server.listen(socket, () => {
  train()
    .then(() => writeFileSync(out, script.createCachedData()))
    .finally(() => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    })
    .catch((e) => {
      process.stderr.write(`cli-cache: ${e.stack ?? e}\n`);
      process.exitCode = 1;
    });
});
