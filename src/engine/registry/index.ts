/**
 * @module engine/registry
 * Image registries (the OCI distribution API): pull and push with Docker's auth flows,
 * mirrors, insecure registries, parallel verified downloads that resume, and Docker's JSON
 * progress messages. Pure parts (challenges, scopes, manifests and platforms, config,
 * messages) are separate modules with their own tests; the HTTP lives in transport.ts.
 */
export { RegistryService, type RegistryServiceOptions } from './service.js';
export type { ListPushResult, RemoteManifest } from './lists.js';
export { decodeRegistryAuth, credentialsFromJson, type Credentials } from './auth.js';
export { registryConfigFromJson, defaultRegistryConfig, REGISTRY_KEYS, type RegistryConfig } from './config.js';
export { parsePlatform, formatPlatform, hostPlatform } from './manifest.js';
export { errorMessage as progressError, type ProgressMessage, type ProgressSink } from './progress.js';
