import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import FindMyWay from 'find-my-way';
import { InvalidArgument, NotFound, errorMessage } from '../core/errors.js';
import type { Engine } from '../engine/index.js';
import type { Ctx, Handler } from './context.js';
import { statusFromError } from './errors.js';
import { archiveRoutes } from './routes/archive.js';
import { containerRoutes } from './routes/containers.js';
import { execRoutes } from './routes/exec.js';
import { imageRoutes } from './routes/images.js';
import { extraRoutes } from './routes/extra.js';
import { networkRoutes } from './routes/networks.js';
import { registryRoutes } from './routes/registry.js';
import { volumeRoutes } from './routes/volumes.js';
import { dfRoutes } from './routes/df.js';
import { API_VERSION, MIN_API_VERSION, systemRoutes } from './routes/system.js';

/**
 * The Engine API as a request handler: versioned (`/v1.44/...`) and unversioned paths,
 * Docker's `{"message": ...}` error bodies, and connection upgrade for attach and exec.
 * It knows nothing of sockets; the daemon binds it to a unix socket.
 */
export interface ApiHandler {
  handle(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

type Log = (msg: string) => void;

export function createApi(engine: Engine, log: Log = () => undefined): ApiHandler {
  const router = FindMyWay({ ignoreTrailingSlash: true, maxParamLength: 1000 });
  const routes = [...systemRoutes, ...containerRoutes, ...execRoutes, ...imageRoutes, ...extraRoutes, ...archiveRoutes, ...networkRoutes, ...volumeRoutes, ...dfRoutes, ...registryRoutes];
  for (const [method, path, handler] of routes) {
    router.on(method as 'GET', path, () => undefined, { handler });
  }

  const dispatch = async (req: IncomingMessage, res: ServerResponse | undefined, hijack: Ctx['hijack']) => {
    const url = new URL(req.url ?? '/', 'http://berth');
    let path = url.pathname;
    let apiVersion = Number(API_VERSION.slice(2));
    const m = /^\/v(\d+)\.(\d+)(\/.*)$/.exec(path);
    if (m) {
      path = m[3] ?? '/';
      apiVersion = Number(`${m[2]}`);
      if (Number(m[1]) !== 1 || apiVersion < Number(MIN_API_VERSION.slice(2))) {
        throw new InvalidArgument(`client version ${m[1]}.${m[2]} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
      }
      if (apiVersion > Number(API_VERSION.slice(2))) {
        throw new InvalidArgument(`client version ${m[1]}.${m[2]} is too new. Maximum supported API version is ${API_VERSION}`);
      }
    }
    const found = findRoute(router, req.method ?? 'GET', path);
    if (!found) throw new NotFound('page not found');
    const ctx: Ctx = { engine, req, params: found.params, query: url.searchParams, apiVersion, ...(res ? { res } : {}), ...(hijack ? { hijack } : {}) };
    await found.handler(ctx);
  };

  const fail = (req: IncomingMessage, e: unknown, write: (status: number, body: string) => void) => {
    const status = statusFromError(e);
    if (status >= 500) log(`${req.method} ${req.url}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    write(status, status === 304 ? '' : JSON.stringify({ message: errorMessage(e) }));
  };

  return {
    handle(req, res) {
      dispatch(req, res, undefined).catch(async (e: unknown) => {
        // A client still sending its upload reads the answer only once it has sent it all.
        if (!req.complete && !req.destroyed && !res.headersSent) {
          await new Promise<void>((resolve) => {
            req.once('end', resolve);
            req.once('close', resolve);
            req.resume();
          });
        }
        fail(req, e, (status, body) => {
          if (res.headersSent) {
            res.end();
            return;
          }
          res.writeHead(status, body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {});
          res.end(body);
        });
      });
    },
    upgrade(req, socket, head) {
      socket.on('error', () => undefined);
      dispatch(req, undefined, { socket, head }).catch((e: unknown) =>
        fail(req, e, (status, body) => {
          if (!socket.writable) return;
          socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
        }),
      );
    },
  };
}

function findRoute(router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>, method: string, path: string): { handler: Handler; params: Record<string, string | undefined> } | undefined {
  const direct = router.find(method as 'GET', path);
  if (direct) return { handler: (direct.store as { handler: Handler }).handler, params: direct.params };
  // Image names contain slashes (`/images/localhost:5000/app/json`): match the tail, the name is the rest.
  const im = /^\/images\/(.+?)(\/(json|history|tag|push|get))?$/.exec(path);
  if (im && path !== '/images/json' && path !== '/images/create' && path !== '/images/load' && path !== '/images/prune' && path !== '/images/search') {
    const rest = im[2] ?? '';
    const hit = router.find(method as 'GET', `/images/x${rest}`);
    if (hit) return { handler: (hit.store as { handler: Handler }).handler, params: { name: encodeURIComponent(decodeURIComponent(im[1] ?? '')) } };
  }
  return undefined;
}

export { API_VERSION };
