import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { killAll, waitGone } from './procs.js';

/** Debian's chromium (`.ci/run` installs it); puppeteer-core never downloads a browser of its own. */
export const CHROMIUM = process.env.APIARY_CHROMIUM ?? '/usr/bin/chromium';

/** Every live descendant of `root` (chromium's zygotes, renderers, GPU and network services). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

/**
 * A real headless Chromium in a throw-away profile. close() closes it and proves every one of its
 * processes is gone (SIGKILL for stragglers, then the assertion stands: a leak fails the test).
 */
export class TestBrowser {
  private constructor(
    readonly browser: Browser,
    readonly profile: string,
    readonly pid: number,
  ) {}

  static async launch(): Promise<TestBrowser> {
    const profile = mkdtempSync(path.join(os.tmpdir(), 'apiary-chromium-'));
    let browser: Browser;
    try {
      browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        userDataDir: profile,
        // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--window-size=1280,1000'],
        defaultViewport: { width: 1280, height: 1000 },
      });
    } catch (e) {
      // No browser (not installed, failed to start): its profile dir must not outlive the test either.
      rmSync(profile, { recursive: true, force: true });
      throw e;
    }
    return new TestBrowser(browser, profile, browser.process()!.pid!);
  }

  /** All processes of this browser right now. */
  pids(): number[] {
    return [this.pid, ...descendants(this.pid)];
  }

  async close(): Promise<void> {
    const pids = this.pids();
    try {
      await this.browser.close();
      await waitGone(pids, 10_000);
    } catch (e) {
      killAll(pids);
      throw e;
    } finally {
      rmSync(this.profile, { recursive: true, force: true });
    }
  }
}
