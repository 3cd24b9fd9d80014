import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { apiaryHome } from '@apiary/config';
import type { InstallFile } from './install-set.js';
import { TAR_END, tarHeader, tarPadding } from './tar.js';

const gzip = promisify(gzipCb);

/**
 * The install set as one gzip'd tar, made of layers: DuckDB (changes when the dependency does) and
 * apiary's own bundles (every build). Gzip members concatenate into one valid stream, so each layer
 * is compressed once, cached under APIARY_HOME/cache/install keyed by its files' names, sizes,
 * mtimes and modes, and shared by every host of that platform and arch. Only the last part of the
 * stream (the per-host files) ends the tar.
 */
export interface Layer {
  name: string;
  /** sha256 of the layer's uncompressed tar bytes. */
  hash: string;
  file: string;
  bytes: number;
  files: number;
}

export interface InstallArchive {
  /** What the host records once unpacked: a hash over the layers' hashes. */
  hash: string;
  layers: Layer[];
  bytes: number;
  files: number;
}

/** Compressed in pieces in parallel (libuv's pool): level 1 costs ~10% in size and half the time. */
const CHUNK_BYTES = 4 * 1024 * 1024;
const LEVEL = 1;

/** A member's name in the archive: its path under the install dir. */
export function relativeTo(dir: string, remote: string): string {
  const rel = path.posix.relative(dir, remote);
  if (!rel || rel.startsWith('..')) throw new Error(`install file ${remote} is outside ${dir}`);
  return rel;
}

function contentOf(f: InstallFile): { size: number; mtime: number } {
  if (f.content !== undefined) return { size: Buffer.byteLength(f.content), mtime: 0 };
  const s = statSync(f.local!);
  return { size: s.size, mtime: Math.floor(s.mtimeMs / 1000) };
}

/** Tar bytes of members (name → file), without the end marker. */
export function tarMembers(members: { name: string; file: InstallFile }[]): Buffer {
  const parts: Buffer[] = [];
  for (const { name, file } of members) {
    const data = file.content !== undefined ? Buffer.from(file.content) : readFileSync(file.local!);
    const { mtime } = contentOf(file);
    parts.push(tarHeader(name, data.length, file.mode, mtime), data, tarPadding(data.length));
  }
  return Buffer.concat(parts);
}

/** Gzip in CHUNK_BYTES pieces at once; the members concatenate to one gzip stream. */
export async function gzipParallel(data: Buffer): Promise<Buffer> {
  const pieces: Promise<Buffer>[] = [];
  for (let o = 0; o < data.length; o += CHUNK_BYTES) pieces.push(gzip(data.subarray(o, o + CHUNK_BYTES), { level: LEVEL }));
  return Buffer.concat(await Promise.all(pieces));
}

const building = new Map<string, Promise<Layer>>();

function layerKey(name: string, members: { name: string; file: InstallFile }[]): string {
  const h = createHash('sha256').update(name);
  for (const m of members) {
    const { size, mtime } = contentOf(m.file);
    h.update(`\0${m.name}\0${m.file.mode}\0${size}\0${mtime}\0${m.file.local ?? ''}\0${m.file.content ?? ''}`);
  }
  return h.digest('hex').slice(0, 24);
}

async function buildLayer(dir: string, name: string, key: string, members: { name: string; file: InstallFile }[]): Promise<Layer> {
  const file = path.join(dir, `${name}-${key}.tgz`);
  const meta = `${file}.json`;
  try {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as Layer;
    if (statSync(file).size === m.bytes) return m;
  } catch {
    // not cached yet
  }
  const tar = tarMembers(members);
  const gz = await gzipParallel(tar);
  const layer: Layer = { name, hash: createHash('sha256').update(tar).digest('hex'), file, bytes: gz.length, files: members.length };
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, gz);
  renameSync(tmp, file);
  writeFileSync(meta, JSON.stringify(layer) + '\n');
  // Older builds of this layer are dead weight now.
  for (const e of readdirSync(dir)) if (e.startsWith(`${name}-`) && !e.startsWith(`${name}-${key}.`)) unlinkSync(path.join(dir, e));
  return layer;
}

/**
 * The archive of `files` (remote paths under `installDir`), built or taken from the cache. Files
 * under node_modules/@duckdb form their own layer: they are most of the bytes and rarely change.
 */
export async function installArchive(installDir: string, files: InstallFile[], platform: string, arch: string): Promise<InstallArchive> {
  const dir = path.join(apiaryHome(), 'cache', 'install');
  const members = files.map((f) => ({ name: relativeTo(installDir, f.remote), file: f }));
  const groups: [string, typeof members][] = [
    [`duckdb-${platform}-${arch}`, members.filter((m) => m.name.startsWith('node_modules/@duckdb/'))],
    ['apiary', members.filter((m) => !m.name.startsWith('node_modules/@duckdb/'))],
  ];
  const layers = await Promise.all(
    groups.map(([name, ms]) => {
      const key = layerKey(name, ms);
      const id = `${dir}/${name}-${key}`;
      let p = building.get(id);
      if (!p) {
        p = buildLayer(dir, name, key, ms);
        building.set(id, p);
        p.catch(() => building.delete(id));
      }
      return p;
    }),
  );
  return {
    hash: createHash('sha256')
      .update(layers.map((l) => l.hash).join('\n'))
      .digest('hex'),
    layers,
    bytes: layers.reduce((s, l) => s + l.bytes, 0),
    files: layers.reduce((s, l) => s + l.files, 0),
  };
}

/** Where the per-host files wait in the install dir until the install script moves them. */
export const STAGING = '.apiary-host';

export interface HostPart {
  /** sha256 of its uncompressed bytes: the host records it next to the install hash. */
  hash: string;
  gz: Buffer;
  /** The remote path each staged member (STAGING/i) goes to. */
  targets: { staged: string; remote: string }[];
}

/** The last part of the stream: this host's own files (config, token, file mounts) and the tar's end. */
export async function hostPart(files: InstallFile[]): Promise<HostPart> {
  const members = files.map((f, i) => ({ name: `${STAGING}/${i}`, file: f }));
  const tar = Buffer.concat([tarMembers(members), TAR_END]);
  return {
    hash: createHash('sha256').update(tar).digest('hex'),
    gz: await gzip(tar, { level: LEVEL }),
    targets: members.map((m) => ({ staged: m.name, remote: m.file.remote })),
  };
}
