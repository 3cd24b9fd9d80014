import { createRequire } from 'node:module';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ApiaryError } from '@apiary/protocol';
import { bindingName, ensureBinding } from './bindings.js';

/** One file of a remote install: a local source (or generated content) and where it goes. */
export interface InstallFile {
  remote: string;
  local?: string;
  content?: string;
  mode: number;
}

const require = createRequire(import.meta.url);

function packageDir(name: string): string | null {
  try {
    return path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}

function walk(dir: string, into: string, out: InstallFile[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, path.posix.join(into, e.name), out);
    // type declarations and maps are dead weight on a Pi
    else if (!/\.(d\.ts|map|md)$/.test(e.name) && e.name !== '.apiary-integrity')
      out.push({ local: p, remote: path.posix.join(into, e.name), mode: statSync(p).mode & 0o755 });
  }
}

/** Node's arch names from `uname -m`. */
export function nodeArch(uname: string): string {
  const m: Record<string, string> = { x86_64: 'x64', amd64: 'x64', aarch64: 'arm64', arm64: 'arm64', armv7l: 'arm', armv6l: 'arm' };
  return m[uname.trim()] ?? uname.trim();
}

/**
 * Everything a hive needs on a host, as files to upload: the hive and bee bundles and the DuckDB
 * package with the native binding for the host's platform and arch (fetched here from the npm
 * registry when this machine lacks it, see bindings.ts). Nothing is fetched on the host.
 */
export async function installSet(installDir: string, platform: string, arch: string): Promise<InstallFile[]> {
  const hiveDist = path.dirname(require.resolve('@apiary/hive/entry'));
  const beeDir = path.dirname(path.dirname(require.resolve('@apiary/bee/entry')));
  const hiveBundle = path.join(hiveDist, 'hive.bundle.mjs');
  const files: InstallFile[] = [
    { remote: `${installDir}/package.json`, content: JSON.stringify({ name: 'apiary-hive-install', private: true, type: 'module' }) + '\n', mode: 0o644 },
    { remote: `${installDir}/hive.mjs`, local: hiveBundle, mode: 0o644 },
    { remote: `${installDir}/node_modules/@apiary/bee/package.json`, local: path.join(beeDir, 'package.json'), mode: 0o644 },
    { remote: `${installDir}/node_modules/@apiary/bee/dist/entry.js`, local: path.join(beeDir, 'dist/entry.js'), mode: 0o644 },
    { remote: `${installDir}/node_modules/@apiary/bee/dist/bee.bundle.mjs`, local: path.join(beeDir, 'dist/bee.bundle.mjs'), mode: 0o644 },
  ];
  for (const name of ['@duckdb/node-api', '@duckdb/node-bindings']) {
    const dir = packageDir(name);
    if (!dir) throw new ApiaryError('PREFLIGHT_FAILED', `this machine has no ${name} to upload: run \`npm install\` in the apiary checkout`);
    walk(dir, `${installDir}/node_modules/${name}`, files);
  }
  const binding = await ensureBinding(platform, arch);
  walk(binding.dir, `${installDir}/node_modules/${bindingName(platform, arch)}`, files);
  return files;
}
