import type { Logger } from '@apiary/runtime';
import type { HiveSession } from '../hives/hive-session.js';
import { hiveNameOf } from './attempt-tokens.js';
import type { TaskLedger, TaskRecord } from './ledger.js';
import type { AttemptRef } from './recovery.js';

/**
 * The fence: a report counts only for the task's current attempt, with the token recorded for it,
 * from the hive holding it; the task is returned then. Anything else is refused (null: the caller
 * refuses it as STALE_ATTEMPT) and the queen carries on. A late report of an attempt this hive did
 * hold (reclaimed, cancelled or finished meanwhile) is routine; any other (a token never issued for
 * it, or another hive's attempt) is logged as a warning.
 */
export function fenceReport(ledger: TaskLedger, hive: HiveSession, ref: AttemptRef, what: string, log: Logger): TaskRecord | null {
  const t = ledger.get(ref.taskId);
  const a = t?.attempts[ref.attempt - 1];
  const held = hive.inFlight.get(ref.taskId) === ref.attempt;
  if (t && a && a.token === ref.token && held && t.state === 'running' && t.attempts.length === ref.attempt) return t;
  const routine = a !== undefined && a.token === ref.token && hiveNameOf(a.hive) === hive.resources.name;
  if (routine) {
    if (held) hive.inFlight.delete(ref.taskId); // its attempt was settled otherwise: the slot is free
    log.debug(`task ${ref.taskId} attempt ${ref.attempt}: late ${what} from ${hive.id} ignored (the attempt is settled)`);
  } else {
    log.warn(`STALE_ATTEMPT: ${what} from hive ${hive.id} for task ${ref.taskId} attempt ${ref.attempt} refused: not the current attempt it holds`, {
      token: ref.token,
    });
  }
  return null;
}
