// Writes V8's code cache for the CLI bundle: `node scripts/cli-cache.mjs BUNDLE CACHE`, run by
// scripts/build-cli.mjs in a node started with no V8 flags, as bin/berth starts the CLI (V8
// rejects a cache made under other flags).
//
// It compiles and runs the bundle as bin/berth does, then runs `ps -a`, `ps` and `images`
// against a stand-in daemon on a temporary socket, so that the cache also holds the compiled
// code of the request, list and table paths: those functions are then deserialized instead
// of compiled on every run (~4 ms of `berth ps -a`, bench/README.md). Nothing is written
// outside the temporary directory.
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
const server = createServer((conn) => {
  let head = '';
  conn.on('data', (d) => {
    head += d.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    const body = JSON.stringify(head.includes(' /v1.44/images/json') ? IMAGES : CONTAINERS);
    conn.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
});

async function train() {
  const sink = () => new Writable({ write: (_chunk, _enc, cb) => cb() });
  const io = { stdout: sink(), stderr: sink(), stdin: () => process.stdin, env: { BERTH_HOST: `unix://${socket}` } };
  for (const argv of [['ps', '-a'], ['ps'], ['images']]) {
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
