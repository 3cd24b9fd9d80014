import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A file whose content only this queen knows: a hive that can read it shares the queen's filesystem
 * and reads cells in place; one that cannot fetches them over HTTP.
 */
export async function writeProbe(dataRoot: string): Promise<{ root: string; probe: string; probeContent: string }> {
  await mkdir(dataRoot, { recursive: true });
  const probe = path.join(dataRoot, '.probe');
  const probeContent = randomBytes(16).toString('hex');
  await writeFile(probe, probeContent, { mode: 0o644 });
  return { root: dataRoot, probe, probeContent };
}
