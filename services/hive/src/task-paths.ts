import path from 'node:path';
import { ApiaryError, type TaskSpec } from '@apiary/protocol';

/** Whether `p` is `root` itself or lies under it (after resolving `..`); a relative path never does. */
function inside(root: string, p: string): boolean {
  if (!path.isAbsolute(p)) return false;
  const rel = path.relative(path.resolve(root), path.resolve(p));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Defence in depth for the kinds only the queen makes (clients cannot submit them; see
 * ClientTaskSpec): every path a bee would write, empty or open for reading under the sandbox must lie
 * under the queen's data root, checked before anything touches the disk. A write task's outDir is
 * emptied by its bee (rm -rf), and an fsql task's allowDirs open DuckDB's sandbox, so a path outside
 * the root here means a forged or broken task. (A write's `inputs` are the user's files to import and
 * may be anywhere.) Throws BAD_REQUEST naming the path; `root` undefined (no data root announced)
 * refuses every such task.
 */
export function checkTaskPaths(spec: TaskSpec, root: string | undefined): void {
  const paths: [string, string][] = [];
  if (spec.kind === 'write') paths.push(['outDir', spec.outDir]);
  else if (spec.kind === 'fsql') {
    for (const d of spec.allowDirs) paths.push(['allowDirs', d]);
    for (const [view, files] of Object.entries(spec.views)) for (const f of files) paths.push([`views.${view}`, f]);
    if (spec.into !== undefined) paths.push(['into', spec.into]);
  } else return;
  if (root === undefined) throw new ApiaryError('BAD_REQUEST', `a ${spec.kind} task needs the queen's data root, and none was announced`);
  for (const [field, p] of paths) {
    if (!inside(root, p))
      throw new ApiaryError(
        'BAD_REQUEST',
        `${spec.kind} task: ${field} ${JSON.stringify(p)} is outside the data root ${root}; refused before touching the disk`,
      );
  }
}
