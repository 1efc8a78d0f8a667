/**
 * @module engine/layers
 * Layer filesystems for berth's overlayfs snapshotter: unpacking image layers (plain, gzip
 * or zstd tar, zstd through the zstd program in src/sys/zstd.ts; OCI whiteouts turned into
 * overlayfs whiteouts and opaque markers), packing an overlay upper dir back into a layer
 * tar (`commit`), packing whole trees (`export`), and listing an upper dir's changes
 * (`container diff`).
 *
 * Security: entry names are cleaned lexically and may not climb above the root; nothing is
 * ever created through a symlink (every parent must be a real directory made or seen in
 * this unpack); hardlinks may only point at entries already unpacked in the same root.
 * Node has no mknod/xattr calls: whiteouts, opaque markers and device nodes go through the
 * host programs in `whiteouts.ts` (mknod, setfattr/getfattr from Debian's `attr`).
 */
export { unpackLayer, type UnpackOptions, type UnpackResult } from './unpack.js';
export {
  PLACEMENT_PEEK_BYTES,
  UNPACK_PROCESS_MIN_BYTES,
  defaultUnpackScript,
  manySmallFiles,
  tarHead,
  unpackLayerInProcess,
  unpackLayerPlaced,
  type UnpackPlacement,
} from './unpack-process.js';
export { packDiff, packTree, type PackDiffOptions, type PackTreeOptions } from './pack.js';
export { diffChanges, CHANGE_ADDED, CHANGE_DELETED, CHANGE_MODIFIED, type Change, type ChangeKind } from './diff.js';
export {
  OPAQUE_XATTR,
  defaultOpaqueReader,
  defaultWhiteoutWriter,
  spawnOpaqueReader,
  spawnWhiteoutWriter,
  type OpaqueReader,
  type WhiteoutWriter,
} from './whiteouts.js';
