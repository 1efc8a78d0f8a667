import { readLog } from '../../engine/index.js';
import type { ExecConfig } from '../../engine/index.js';
import { intQuery, jsonBody, param, sendJson, sendStatus, type Ctx, type Handler } from '../context.js';
import { openRawStream } from '../raw-stream.js';

type Route = [method: string, path: string, handler: Handler];

export const execRoutes: readonly Route[] = [
  ['POST', '/containers/:id/exec', async (ctx) => {
    const body = (await jsonBody<ExecConfig>(ctx)) ?? {};
    sendJson(ctx, 201, { Id: ctx.engine.execs.create(param(ctx, 'id'), body) });
  }],
  ['POST', '/exec/:id/start', start],
  ['POST', '/exec/:id/resize', async (ctx) => {
    await ctx.engine.execs.resize(param(ctx, 'id'), intQuery(ctx.query, 'h') ?? 24, intQuery(ctx.query, 'w') ?? 80);
    sendStatus(ctx, 200);
  }],
  ['GET', '/exec/:id/json', async (ctx) => {
    const s = ctx.engine.execs.get(param(ctx, 'id'));
    sendJson(ctx, 200, {
      ID: s.id,
      Running: s.running,
      ExitCode: s.exitCode,
      ProcessConfig: { tty: s.config.Tty ?? false, entrypoint: s.config.Cmd?.[0] ?? '', arguments: s.config.Cmd?.slice(1) ?? [], privileged: s.config.Privileged ?? false, user: s.config.User ?? '' },
      OpenStdin: s.config.AttachStdin ?? false,
      OpenStderr: s.config.AttachStderr ?? false,
      OpenStdout: s.config.AttachStdout ?? false,
      CanRemove: false,
      ContainerID: s.containerId,
      DetachKeys: '',
      Pid: s.pid,
    });
  }],
];

async function start(ctx: Ctx): Promise<void> {
  const body = (await jsonBody<{ Detach?: boolean; Tty?: boolean; ConsoleSize?: [number, number] }>(ctx)) ?? {};
  const execs = ctx.engine.execs;
  const id = param(ctx, 'id');
  const s = execs.get(id);
  const tty = body.Tty ?? s.config.Tty === true;
  if (body.ConsoleSize) s.config.ConsoleSize = body.ConsoleSize;
  if (body.Detach === true) {
    await execs.start(id, { tty });
    sendStatus(ctx, 200);
    return;
  }
  const out = openRawStream(ctx, tty);
  const stdin = s.config.AttachStdin === true ? out.input : undefined;
  if (!stdin) out.input.resume();
  try {
    await execs.start(id, { tty, ...(stdin ? { stdin } : {}) });
  } catch (e) {
    out.write(2, `${(e as Error).message}\n`);
    out.end();
    return;
  }
  const abort = new AbortController();
  void out.closed.then(() => abort.abort(new Error('client went away')));
  for await (const r of readLog(execs.logPath(s), { follow: true, done: s.exited, signal: abort.signal })) {
    if ((r.stream === 'stdout' && s.config.AttachStdout !== false) || (r.stream === 'stderr' && s.config.AttachStderr !== false)) {
      out.write(r.stream === 'stdout' ? 1 : 2, r.partial ? r.text : `${r.text}\n`);
    }
  }
  out.end();
}
