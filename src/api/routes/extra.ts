import type { Handler } from '../context.js';

type Route = [method: string, path: string, handler: Handler];

/** Endpoints added by later subsystems (save/load, commit, archive, system df) register here. */
export const extraRoutes: readonly Route[] = [];
