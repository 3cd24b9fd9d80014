import os from 'node:os';
import type { HiveConfig } from '@apiary/config';
import type { HiveResources } from '@apiary/protocol';

export function hiveResources(cfg: HiveConfig): HiveResources {
  return {
    name: cfg.name,
    host: os.hostname(),
    pid: process.pid,
    arch: process.arch,
    platform: process.platform,
    node: process.versions.node,
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    bees: cfg.bees,
    memoryPerBeeBytes: cfg.memoryPerBeeBytes,
    ephemeral: cfg.ephemeral,
    taskTimeoutMs: cfg.taskTimeoutMs,
  };
}
