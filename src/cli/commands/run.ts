/**
 * `berth run` and `berth create`: POST /containers/create (pulling a missing image
 * like docker), then for run: attach and register the wait before start, start,
 * stream, and exit with the container's status.
 */
import { NotFound } from '../../core/errors.js';
import { isDaemonError } from '../../client/index.js';
import { UsageError, type Flags } from '../args.js';
import { CONTAINER_FLAGS, RUN_FLAGS, buildContainerSpec, type ContainerSpec } from '../container-opts.js';
import { StatusError, formatError, type Cli, type CommandDef } from '../context.js';
import { checkTty, forwardSignals, monitorTtySize, streamConnection, terminalSize } from '../session.js';

interface CreateResponse {
  Id: string;
  Warnings?: string[] | null;
}

/** Creates the container, pulling its image first when it is missing (or `--pull always`). */
export async function createContainer(cli: Cli, spec: ContainerSpec): Promise<string> {
  const client = cli.client();
  const image = spec.config.Image as string;
  let cidWrite: ((id: string) => Promise<void>) | undefined;
  if (spec.cidfile) {
    const fs = await import('node:fs/promises');
    const file = spec.cidfile;
    if (await fs.stat(file).then(() => true, () => false)) {
      throw new Error(`container ID file found, make sure the other container isn't running or delete ${file}`);
    }
    cidWrite = (id) => fs.writeFile(file, id, { flag: 'wx' });
  }
  const pull = async () => {
    const { pullImage } = await import('../pull.js');
    await pullImage(cli, image, { ...(spec.platform ? { platform: spec.platform } : {}), ...(spec.quiet ? {} : { out: cli.io.stderr }) });
  };
  const create = () =>
    client.json<CreateResponse>('POST', '/containers/create', {
      query: { name: spec.name, platform: spec.platform },
      body: { ...spec.config, HostConfig: spec.hostConfig, NetworkingConfig: spec.networkingConfig },
    });
  if (spec.pull === 'always') await pull();
  let res: CreateResponse;
  try {
    res = await create();
  } catch (e) {
    if (!(e instanceof NotFound && isDaemonError(e) && /image/i.test(e.message)) || spec.pull === 'never') throw e;
    const { familiarTagged } = await import('../rows.js');
    cli.err(`Unable to find image '${familiarTagged(image)}' locally\n`);
    await pull();
    res = await create();
  }
  for (const w of res.Warnings ?? []) cli.err(`WARNING: ${w}\n`);
  await cidWrite?.(res.Id);
  return res.Id;
}

/** docker's `runStartContainerErr`: 127 when the command is missing, 126 when it cannot be run. */
export function startErrorStatus(message: string): number {
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(message)) return 127;
  if (/permission denied|is a directory/.test(message)) return 126;
  return 125;
}

interface WaitResponse {
  StatusCode: number;
  Error?: { Message?: string } | null;
}

/**
 * The attached part of run and start -a: attach + wait registered, start, stream,
 * then the exit status (or 0 after detaching).
 */
export async function attachStartWait(
  cli: Cli,
  id: string,
  o: { tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean; autoRemove: boolean; sigProxy: boolean; detachKeys?: string; start: () => Promise<void> },
): Promise<number> {
  const client = cli.client();
  const cid = encodeURIComponent(id);
  const attaching = client.hijack('POST', `/containers/${cid}/attach`, {
    query: { stream: true, stdin: o.stdin || undefined, stdout: o.stdout || undefined, stderr: o.stderr || undefined, detachKeys: o.detachKeys },
    tty: o.tty,
  });
  const waiting = client.request('POST', `/containers/${cid}/wait`, { query: { condition: o.autoRemove ? 'removed' : 'next-exit' } });
  const [connR, waitR] = await Promise.allSettled([attaching, waiting]);
  if (connR.status === 'rejected' || waitR.status === 'rejected') {
    if (connR.status === 'fulfilled') connR.value.socket.destroy();
    if (waitR.status === 'fulfilled') waitR.value.stream.destroy();
    throw connR.status === 'rejected' ? connR.reason : (waitR as PromiseRejectedResult).reason;
  }
  const conn = connR.value;
  const waitRes = waitR.value;
  try {
    await o.start();
  } catch (e) {
    conn.socket.destroy();
    if (o.autoRemove) await waitRes.buffer().catch(() => undefined);
    else waitRes.stream.destroy();
    throw new StatusError(startErrorStatus(e instanceof Error ? e.message : String(e)), formatError(e));
  }
  const stopResize = o.tty ? monitorTtySize(cli, `/containers/${cid}/resize`) : () => {};
  const stopSignals = o.sigProxy && !o.tty ? forwardSignals(client, id) : () => {};
  try {
    const result = await streamConnection(cli, { conn, tty: o.tty, stdin: o.stdin, ...(o.detachKeys ? { detachKeys: o.detachKeys } : {}) });
    if (result === 'detached') {
      waitRes.stream.destroy();
      return 0;
    }
    const status = await waitRes.json<WaitResponse>();
    if (status?.Error?.Message) {
      cli.err(`Error waiting for container: ${status.Error.Message}\n`);
      return 125;
    }
    return status?.StatusCode ?? 0;
  } finally {
    stopResize();
    stopSignals();
  }
}

async function runRun(cli: Cli, f: Flags, args: string[]): Promise<number> {
  const tty = f.bool('tty');
  const size = tty ? terminalSize(cli) : undefined;
  const spec = buildContainerSpec(f, args, { command: 'run', env: cli.io.env, ...(size ? { consoleSize: size } : {}) });
  const cfg = spec.config as { AttachStdin: boolean; AttachStdout: boolean; AttachStderr: boolean; Tty: boolean };
  if (!spec.detach) await checkTty(cfg.AttachStdin, tty);
  const id = await createContainer(cli, spec);
  const client = cli.client();
  const start = () => client.call('POST', `/containers/${encodeURIComponent(id)}/start`);
  if (!cfg.AttachStdin && !cfg.AttachStdout && !cfg.AttachStderr) {
    try {
      await start();
    } catch (e) {
      throw new StatusError(startErrorStatus(e instanceof Error ? e.message : String(e)), formatError(e));
    }
    cli.out(`${id}\n`);
    return 0;
  }
  return attachStartWait(cli, id, {
    tty,
    stdin: cfg.AttachStdin,
    stdout: cfg.AttachStdout,
    stderr: cfg.AttachStderr,
    autoRemove: spec.hostConfig.AutoRemove === true,
    sigProxy: spec.sigProxy,
    ...(spec.detachKeys ? { detachKeys: spec.detachKeys } : {}),
    start,
  });
}

async function runCreate(cli: Cli, f: Flags, args: string[]): Promise<number> {
  const tty = f.bool('tty');
  const size = tty ? terminalSize(cli) : undefined;
  let spec: ContainerSpec;
  try {
    spec = buildContainerSpec(f, args, { command: 'create', env: cli.io.env, ...(size ? { consoleSize: size } : {}) });
  } catch (e) {
    // docker create: options it cannot parse exit 125; the daemon's refusals exit 1.
    if (e instanceof UsageError) throw e;
    throw new StatusError(125, formatError(e));
  }
  cli.out(`${await createContainer(cli, spec)}\n`);
  return 0;
}

export const run: CommandDef = {
  name: 'run',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create and run a new container from an image',
  flags: [...CONTAINER_FLAGS, ...RUN_FLAGS],
  interspersed: false,
  minArgs: 1,
  failureCode: 125,
  run: runRun,
};

export const create: CommandDef = {
  name: 'create',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create a new container',
  flags: CONTAINER_FLAGS,
  interspersed: false,
  minArgs: 1,
  run: runCreate,
};
