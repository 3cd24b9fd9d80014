import type { TaskAssign } from '@apiary/protocol';
import type { Logger } from '@apiary/runtime';
import type { HiveSession } from '../hives/hive-session.js';
import { attemptToken } from './attempt-tokens.js';
import type { TaskRecord } from './ledger.js';
import { moveTask } from './task-states.js';

/**
 * Put a queued task's next attempt on a hive: the task moves to running with a new attempt (token of
 * this queen's epoch), and the assign that announces it is returned (the caller sends it only after
 * the ledger commit: see CommitThenSend). A retry avoids the bees of this hive it already failed on.
 */
export function newAttempt(t: TaskRecord, hive: HiveSession, epoch: number, log: Logger): TaskAssign {
  const attempt = t.attempts.length + 1;
  const token = attemptToken(epoch, attempt);
  moveTask(t, 'running', log, hive.id);
  t.attempts.push({ attempt, hive: hive.id, bee: -1, startedAt: Date.now(), durationMs: 0, error: null, token });
  const avoidBees = attempt > 1 ? t.attempts.filter((a) => a.hive === hive.id && a.bee >= 0).map((a) => a.bee) : [];
  return { type: 'task.assign', taskId: t.id, attempt, token, spec: t.spec, limits: t.limits, avoidBees };
}
