import { statSync } from 'node:fs';

/** A file's size, 0 when it does not exist (a WAL between checkpoints, an ephemeral queen's ledger). */
export function fileBytes(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
