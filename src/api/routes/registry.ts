import type { IncomingMessage } from 'node:http';
import { errorMessage, InvalidArgument } from '../../core/errors.js';
import { parseImageManifestEntry } from '../../core/manifest-list.js';
import { familiarName, familiarString, parseReference, withDefaultTag, type Reference } from '../../core/reference.js';
import { credentialsFromJson, decodeRegistryAuth, parsePlatform, progressError, type Credentials, type ProgressMessage } from '../../engine/registry/index.js';
import { boolQuery, jsonBody, sendJson, type Ctx, type Handler } from '../context.js';

type Route = [method: string, path: string, handler: Handler];

/**
 * `POST /auth` (docker login), and berth's own endpoints for `berth manifest` (the docker
 * CLI talks to registries itself for `docker manifest`; berth's CLI has the daemon do it, so
 * daemon.json's registry settings, certs.d and one registry client serve every command).
 * Pull and push are served from the image routes through the handlers below.
 */
export const registryRoutes: readonly Route[] = [
  ['POST', '/auth', auth],
  ['GET', '/berth/manifests/inspect', manifestInspect],
  ['POST', '/berth/manifests/push', manifestPush],
];

/** The `X-Registry-Auth` header's credentials (none when absent, `e30=` or unreadable). */
export function registryAuth(req: IncomingMessage): Credentials | undefined {
  const h = req.headers['x-registry-auth'];
  return decodeRegistryAuth(Array.isArray(h) ? h[0] : h);
}

/**
 * Streams Docker's JSON messages (one object and `\r\n` each) while `work` runs. Until the
 * first message nothing is sent, so an early failure (unknown image, refused credentials)
 * is an ordinary error answer with its status; later failures become the stream's last
 * message (`errorDetail`). A client that goes away cancels the work.
 */
export async function streamJson(ctx: Ctx, work: (emit: (m: ProgressMessage) => void, signal: AbortSignal) => Promise<void>): Promise<void> {
  const res = ctx.res;
  if (!res) throw new InvalidArgument('this endpoint does not support connection upgrade');
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort(new Error('the client went away: operation cancelled'));
  };
  res.on('close', onClose);
  let started = false;
  const emit = (m: ProgressMessage) => {
    if (!started) {
      started = true;
      res.writeHead(200, { 'Content-Type': 'application/json' });
    }
    if (!res.destroyed && !res.writableEnded) res.write(`${JSON.stringify(m)}\r\n`);
  };
  try {
    await work(emit, abort.signal);
  } catch (e) {
    if (!started) throw e;
    emit(progressError(errorMessage(e)));
  } finally {
    res.off('close', onClose);
  }
  if (!started) res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end();
}

/** `POST /images/create?fromImage=NAME&tag=TAG|DIGEST&platform=os/arch[/variant]`: pull. */
export async function pullImage(ctx: Ctx): Promise<void> {
  const q = ctx.query;
  const image = q.get('fromImage') ?? '';
  const t = q.get('tag') ?? '';
  if (image === '') throw new InvalidArgument('fromImage must not be empty');
  let ref: Reference = parseReference(image);
  if (t !== '') {
    if (/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/.test(t)) ref = parseReference(`${ref.repository}@${t}`);
    else ref = parseReference(`${ref.repository}:${t}`);
  }
  const platformText = q.get('platform') ?? '';
  const platform = platformText !== '' ? parsePlatform(platformText) : undefined;
  const credentials = registryAuth(ctx.req);
  await streamJson(ctx, async (emit, signal) => {
    const result = await ctx.engine.registry.pull(ref, { progress: emit, signal, ...(credentials ? { credentials } : {}), ...(platform ? { platform } : {}) });
    void result;
    // Docker's pull event: the reference as the actor, the repository as its name.
    ctx.engine.events.publish('image', 'pull', familiarString(ref), { name: familiarName(ref.repository) });
  });
}

/** `POST /images/{name}/push?tag=TAG` (every tag of the repository when TAG is empty). */
export async function pushImage(ctx: Ctx, name: string): Promise<void> {
  const t = ctx.query.get('tag') ?? '';
  let ref = parseReference(name);
  if (ref.digest !== undefined) throw new InvalidArgument('cannot push a digest reference');
  if (t !== '') ref = parseReference(`${ref.repository}:${t}`);
  const credentials = registryAuth(ctx.req);
  await streamJson(ctx, async (emit, signal) => {
    const pushed = await ctx.engine.registry.push(ref, { progress: emit, signal, ...(credentials ? { credentials } : {}) });
    for (const p of pushed) {
      ctx.engine.events.publish('image', 'push', familiarString({ ...ref, tag: p.tag }), { name: familiarName(ref.repository) });
    }
  });
}

/** `POST /auth`: `{username, password, serveraddress}` (or an identity token) checked against the registry. */
async function auth(ctx: Ctx): Promise<void> {
  const body = await jsonBody<Record<string, unknown>>(ctx);
  const creds = credentialsFromJson(body ?? {});
  if (creds === undefined) throw new InvalidArgument('invalid authentication request: no credentials');
  const r = await ctx.engine.registry.login(creds);
  sendJson(ctx, 200, { Status: 'Login Succeeded', IdentityToken: r.identityToken ?? '' });
}

/** The `ref` query parameter, normalised as docker's manifest commands do (`latest` by default). */
function refQuery(ctx: Ctx): Reference {
  const name = ctx.query.get('ref') ?? '';
  if (name === '') throw new InvalidArgument('ref must not be empty');
  return withDefaultTag(parseReference(name));
}

/**
 * `GET /berth/manifests/inspect?ref=NAME[&insecure=1][&members=1]`: what the reference
 * names on its registry (`RemoteManifest`): an image manifest with its platform, or a list
 * (with an entry per member when `members=1`). Credentials in `X-Registry-Auth`.
 */
async function manifestInspect(ctx: Ctx): Promise<void> {
  const ref = refQuery(ctx);
  const credentials = registryAuth(ctx.req);
  const r = await ctx.engine.registry.inspectManifest(ref, {
    insecure: boolQuery(ctx.query, 'insecure'),
    members: boolQuery(ctx.query, 'members'),
    ...(credentials ? { credentials } : {}),
  });
  sendJson(ctx, 200, r);
}

/**
 * `POST /berth/manifests/push?ref=LIST[&insecure=1]` with `{"Manifests": [entry, ...]}` (a
 * local list's entries, as `~/.docker/manifests` holds them): pushes the list; answers
 * `{Digest, Size, MediaType, Pushed}`.
 */
async function manifestPush(ctx: Ctx): Promise<void> {
  const ref = refQuery(ctx);
  const body = await jsonBody<{ Manifests?: unknown }>(ctx);
  if (!Array.isArray(body?.Manifests)) throw new InvalidArgument('the request body needs "Manifests", a list of manifest entries');
  const entries = body.Manifests.map((m, i) => parseImageManifestEntry(m, `Manifests[${i}]`));
  const credentials = registryAuth(ctx.req);
  const r = await ctx.engine.registry.pushManifestList(ref, entries, { insecure: boolQuery(ctx.query, 'insecure'), ...(credentials ? { credentials } : {}) });
  sendJson(ctx, 200, r);
}
