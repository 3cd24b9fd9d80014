import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'puppeteer-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskView } from '@apiary/protocol';
import { COLONY_EVERY_MS, TASKS_EVERY_MS } from '../services/queen/src/dashboard/refresh.js';
import { TestBrowser } from './helpers/browser.js';
import { ROOT, TASKS, tempHome } from './helpers/colony.js';
import { TestDaemon } from './helpers/daemon.js';
import { keeper } from './helpers/keeper.js';
import { alive } from './helpers/procs.js';
import { LOAD_MARGIN_MS } from './helpers/timing.js';

/**
 * The page functions below run in Chromium. This file is compiled without the DOM library (adding it
 * would change Node's fetch types for every test), so it names the little of the DOM they use.
 */
interface El {
  textContent: string | null;
  open?: boolean;
  getAttribute(name: string): string | null;
  querySelector(sel: string): El | null;
  click(): void;
}
declare const document: {
  cookie: string;
  querySelector(sel: string): El | null;
  querySelectorAll(sel: string): { length: number };
  getElementById(id: string): El | null;
};

const CHATTER = path.join(ROOT, 'e2e/fixtures/dashboard-tasks.mjs');
const js = (exportName: string, args: unknown = {}) => ({ kind: 'js' as const, module: TASKS, export: exportName, args });

/** Once the API shows a change, the page shows it by its next poll of that data, plus a loaded machine's margin. */
const PAGE_SHOWS_COLONY_MS = COLONY_EVERY_MS + LOAD_MARGIN_MS;
const PAGE_SHOWS_TASKS_MS = TASKS_EVERY_MS + LOAD_MARGIN_MS;
/**
 * Each test starts a daemon (queen, hive, 2 bees) and a Chromium and takes both down again: 30-70 s
 * here with a load average over 20 (other suites and qemu-emulated hosts beside it), most of it bees
 * and Chromium starting; the memory bombs add their attempts. About 2.5 times the worst seen.
 */
const TEST_MS = 180_000;
/** The daemon's hive with both bees ready: up to 14 s seen at that load (the helper's default is 20 s). */
const BEES_UP_MS = 45_000;

/** A one-time dashboard URL from `keeper dashboard`, as an operator gets it. */
async function dashboardUrl(d: TestDaemon): Promise<string> {
  const r = await keeper(['dashboard', '--json', '--no-open'], d.home);
  expect(r.exitCode, r.stderr).toBe(0);
  const { url } = JSON.parse(r.stdout) as { url: string };
  expect(url).toMatch(new RegExp(`^${d.url}/#code=[\\w-]{20,}$`));
  return url;
}

async function openLoggedIn(b: TestBrowser, d: TestDaemon): Promise<Page> {
  const page = await b.browser.newPage();
  await page.goto(await dashboardUrl(d));
  await page.waitForSelector('body.logged-in', { timeout: LOAD_MARGIN_MS * 2 });
  return page;
}

/** Every line the daemon wrote: its stderr and any log file under its home. */
function daemonLogs(d: TestDaemon): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.log(\.\d+)?$/.test(e.name) && statSync(p).size < 50_000_000) files.push(readFileSync(p, 'utf8'));
    }
  };
  walk(d.home);
  return [...d.stderr, ...files].join('\n');
}

describe('web dashboard in headless Chromium', () => {
  let d: TestDaemon | null = null;
  let b: TestBrowser | null = null;

  beforeEach(async () => {
    // Info level, so the daemon writes a line per request and "no secret in the logs" is a real check.
    const level = process.env.APIARY_LOG_LEVEL;
    process.env.APIARY_LOG_LEVEL = 'info';
    try {
      d = await TestDaemon.start();
    } finally {
      if (level === undefined) delete process.env.APIARY_LOG_LEVEL;
      else process.env.APIARY_LOG_LEVEL = level;
    }
    await d.waitHives(1, BEES_UP_MS);
    b = await TestBrowser.launch();
  }, TEST_MS);

  afterEach(async () => {
    const browserPids = b?.pids() ?? [];
    try {
      await b?.close();
    } finally {
      b = null;
      await d?.stop();
      d = null;
    }
    // The browser and everything it started are gone.
    expect(browserPids.filter(alive)).toEqual([]);
  }, TEST_MS);

  it(
    'the one-time URL logs in once (HttpOnly SameSite=Strict cookie, code gone from the address bar); the page shows hives and bees; nothing works without the session',
    async () => {
      const url = await dashboardUrl(d!);
      const code = url.split('#code=')[1]!;
      const page = await b!.browser.newPage();
      await page.goto(url);
      await page.waitForSelector('body.logged-in', { timeout: LOAD_MARGIN_MS * 2 });
      // The code left the address bar (history.replaceState) and the page can not read the cookie.
      expect(page.url()).toBe(`${d!.url}/`);
      expect(await page.evaluate(() => document.cookie)).toBe('');
      const cookie = (await page.cookies()).find((c) => c.name === 'apiary_session');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });

      // Hives with their heartbeat age, and every bee of the daemon's local hive (2 bees).
      const colony = await d!.client.colony();
      const hive = colony.hives[0]!;
      await page.waitForSelector(`tr[data-hive="${hive.id}"] td.heartbeat`, { timeout: PAGE_SHOWS_COLONY_MS });
      expect(await page.$eval(`tr[data-hive="${hive.id}"] td.heartbeat`, (e) => e.textContent)).toMatch(/s ago$/);
      await page.waitForFunction((n) => document.querySelectorAll('[data-bee]').length === n, { timeout: PAGE_SHOWS_COLONY_MS }, hive.bees.length);
      const bees = await page.$$eval('[data-bee]', (els) => els.map((e) => [e.getAttribute('data-bee'), e.querySelector('.rss .bar-label')?.textContent]));
      expect(bees.map(([id]) => id).sort()).toEqual(hive.bees.map((x) => `${hive.id}/${x.id}`).sort());
      for (const [, rss] of bees) expect(rss).toMatch(/ \/ 256 MiB$/);

      // A finished task appears in the recent list, pushed by the event stream.
      const t = await d!.client.submit(js('echo', { hello: 1 }), {}, 10_000);
      expect(t.state).toBe('succeeded');
      await page.waitForSelector(`details[data-task="${t.id}"][data-state="succeeded"]`, { timeout: PAGE_SHOWS_TASKS_MS });
      // Opening a task's row shows what each attempt printed (the list routes leave output out).
      const marker = `dashboard-output-${Date.now()}`;
      const loud = await d!.client.submit({ kind: 'js', module: CHATTER, export: 'chatter', args: { lines: [marker, 'second line'] } }, {}, 10_000);
      expect(loud.state, loud.error?.message).toBe('succeeded');
      const loudRow = `#recent details[data-task="${loud.id}"]`;
      await page.waitForSelector(loudRow, { timeout: PAGE_SHOWS_TASKS_MS });
      await page.$eval(`${loudRow} summary`, (e) => (e as unknown as El).click());
      await page.waitForFunction(
        (sel, m) => document.querySelector(sel)?.textContent?.includes(m),
        { timeout: PAGE_SHOWS_COLONY_MS },
        `${loudRow} pre.output`,
        marker,
      );
      expect(await page.$eval(`${loudRow} pre.output`, (e) => e.textContent)).toMatch(/second line\n2 lines printed/);

      // The code was single use: a second browser context opening the same URL is refused and logged out.
      const other = await b!.browser.createBrowserContext();
      try {
        const p2 = await other.newPage();
        await p2.goto(url);
        await p2.waitForSelector('body.logged-out', { timeout: LOAD_MARGIN_MS * 2 });
        expect(await p2.$eval('#banner', (e) => e.textContent)).toMatch(/login code unknown, used or expired/);
        // ... and in that context (no session) every data route refuses.
        const statuses = await p2.evaluate(async () =>
          Promise.all(['/v1/colony', '/v1/hives', '/v1/tasks', '/v1/frames', '/v1/colony/history', '/v1/events'].map(async (u) => (await fetch(u)).status)),
        );
        expect(statuses).toEqual([401, 401, 401, 401, 401, 401]);
      } finally {
        await other.close();
      }
      const again = await fetch(`${d!.url}/v1/dashboard/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-apiary-dashboard': '1' },
        body: JSON.stringify({ code }),
      });
      expect(again.status).toBe(401);

      // A forged or stale cookie is no session either.
      const forged = await fetch(`${d!.url}/v1/colony`, { headers: { cookie: 'apiary_session=forged' } });
      expect(forged.status).toBe(401);
      // The real cookie reads, from outside the browser too (it is a bearer of read rights) ...
      const jar = `apiary_session=${cookie!.value}`;
      expect((await fetch(`${d!.url}/v1/colony`, { headers: { cookie: jar } })).status).toBe(200);
      // ... but writes nothing: a read session cannot submit, drop frames or stop the queen.
      const submit = await fetch(`${d!.url}/v1/tasks`, {
        method: 'POST',
        headers: { cookie: jar, 'content-type': 'application/json', 'x-apiary-dashboard': '1' },
        body: JSON.stringify({ spec: js('echo') }),
      });
      expect(submit.status).toBe(403);
      const stop = await fetch(`${d!.url}/v1/admin/shutdown`, {
        method: 'POST',
        headers: { cookie: jar, 'content-type': 'application/json', 'x-apiary-dashboard': '1' },
        body: '{}',
      });
      expect(stop.status).toBe(403);
      // A session cannot mint more login codes.
      expect((await fetch(`${d!.url}/v1/dashboard/codes`, { method: 'POST', headers: { cookie: jar, 'x-apiary-dashboard': '1' } })).status).toBe(403);

      // Neither the client token nor the code reached a URL the queen saw or a log line.
      const logs = daemonLogs(d!);
      // (The daemon logs at info here: its request lines are there, so their lack of secrets means something.)
      expect(logs).toContain('/v1/dashboard/session');
      expect(logs).not.toContain(d!.token('client'));
      expect(logs).not.toContain(code);
    },
    TEST_MS,
  );

  it(
    'cancelling from the page: a session minted with the client (admin) token cancels, one minted with a read token cannot; cookie writes need the dashboard header and our own origin (CSRF)',
    async () => {
      const page = await openLoggedIn(b!, d!);
      await page.waitForFunction(() => document.getElementById('session')?.textContent?.includes('read + cancel'), { timeout: PAGE_SHOWS_COLONY_MS });
      const jar = `apiary_session=${(await page.cookies()).find((c) => c.name === 'apiary_session')!.value}`;
      // A long task to cancel (the test cancels it; the task's own timeout bounds it if that broke).
      const held = await d!.client.submit(js('sleep', { ms: 30_000 }), { maxAttempts: 1 });
      // Without the header, or from another origin, the cookie cancels nothing.
      const bare = await fetch(`${d!.url}/v1/tasks/${held.id}`, { method: 'DELETE', headers: { cookie: jar } });
      expect(bare.status).toBe(403);
      const foreign = await fetch(`${d!.url}/v1/tasks/${held.id}`, {
        method: 'DELETE',
        headers: { cookie: jar, 'x-apiary-dashboard': '1', origin: 'http://evil.example' },
      });
      expect(foreign.status).toBe(403);
      expect((await d!.client.get(held.id)).state).not.toBe('cancelled');
      // The page's own cancel button does it.
      const button = `details[data-task="${held.id}"] button[data-cancel]`;
      await page.waitForSelector(button, { timeout: PAGE_SHOWS_TASKS_MS });
      await page.$eval(button, (el) => (el as unknown as El).click());
      const done = await d!.client.get(held.id, 10_000);
      expect(done.state).toBe('cancelled');
      await page.waitForSelector(`details[data-task="${held.id}"][data-state="cancelled"]`, { timeout: PAGE_SHOWS_TASKS_MS });

      // A session minted with a read token reads but cannot cancel, as that token could not.
      const created = await fetch(`${d!.url}/v1/admin/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${d!.token('client')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ scope: 'read', name: 'dashboard-reader' }),
      });
      expect(created.status).toBe(201);
      const reader = ((await created.json()) as { token: string }).token;
      const minted = await fetch(`${d!.url}/v1/dashboard/codes`, { method: 'POST', headers: { authorization: `Bearer ${reader}` } });
      const { code } = (await minted.json()) as { code: string };
      const login = await fetch(`${d!.url}/v1/dashboard/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-apiary-dashboard': '1' },
        body: JSON.stringify({ code }),
      });
      expect(await login.json()).toMatchObject({ scope: 'read', canCancel: false });
      const readJar = /apiary_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')![0];
      const other = await d!.client.submit(js('sleep', { ms: 30_000 }), { maxAttempts: 1 });
      try {
        expect((await fetch(`${d!.url}/v1/colony`, { headers: { cookie: readJar } })).status).toBe(200);
        const refused = await fetch(`${d!.url}/v1/tasks/${other.id}`, { method: 'DELETE', headers: { cookie: readJar, 'x-apiary-dashboard': '1' } });
        expect(refused.status).toBe(403);
        expect(((await refused.json()) as { code: string }).code).toBe('FORBIDDEN');
        expect((await d!.client.get(other.id)).state).not.toBe('cancelled');
      } finally {
        await d!.client.cancel(other.id);
      }
    },
    TEST_MS,
  );

  it(
    'a memory bomb: its bee shows the kill (BEE_MEMORY_EXCEEDED) and the restart',
    async () => {
      const page = await openLoggedIn(b!, d!);
      await page.waitForFunction(() => document.querySelectorAll('[data-bee]').length === 2, { timeout: PAGE_SHOWS_COLONY_MS });
      expect(await page.$$eval('[data-bee]', (els) => els.map((e) => e.getAttribute('data-restarts')))).toEqual(['0', '0']);
      // Bounded bomb (TESTING.md): 16 MiB steps up to 2 GiB, over the 256 MiB budget within ~1 s.
      const bomb = await d!.client.submit(js('bufferBomb', { capMb: 2048 }), { maxAttempts: 1, timeoutMs: 30_000 }, 40_000);
      expect(bomb.state).toBe('failed');
      expect(bomb.error?.code).toBe('BEE_MEMORY_EXCEEDED');
      const a = bomb.attempts[0]!;
      // The replacement bee is up (the API says so) ...
      await d!.waitIdle(2, BEES_UP_MS);
      // ... and the page shows that bee restarted once, with the kill that did it.
      const sel = `[data-bee="${a.hive}/${a.bee}"]`;
      await page.waitForFunction(
        (s) => {
          const el = document.querySelector(s);
          return el?.getAttribute('data-restarts') === '1' && el.querySelector('.last-failure')?.textContent?.startsWith('BEE_MEMORY_EXCEEDED');
        },
        { timeout: PAGE_SHOWS_COLONY_MS + PAGE_SHOWS_TASKS_MS },
        sel,
      );
      expect(await page.$eval(`${sel} .last-failure`, (e) => e.getAttribute('title'))).toMatch(/over its 256 MiB budget/);
      // The hive's own count says why the bee was replaced.
      expect(await page.$eval(`${sel} .restarts`, (e) => e.textContent)).toBe('restarts 1 (memory 1)');
      // The other bee was not touched.
      const others = await page.$$eval(`[data-bee]:not([data-bee="${a.hive}/${a.bee}"])`, (els) => els.map((e) => e.getAttribute('data-restarts')));
      expect(others).toEqual(['0']);
    },
    TEST_MS,
  );

  it(
    "an abandoned task (retries exhausted) shows every attempt's diagnostics",
    async () => {
      const page = await openLoggedIn(b!, d!);
      const poison = await d!.client.submit(js('bufferBomb', { capMb: 2048 }), { timeoutMs: 30_000 }, 60_000);
      expect(poison.state).toBe('abandoned');
      expect(poison.attempts).toHaveLength(3);
      const row = `#abandoned details[data-task="${poison.id}"]`;
      await page.waitForSelector(row, { timeout: PAGE_SHOWS_TASKS_MS });
      // Abandoned tasks are shown open, attempts listed: where each ran and what ended it.
      expect(await page.$eval(row, (e) => (e as unknown as El).open)).toBe(true);
      expect(await page.$eval(`${row} summary .error`, (e) => e.textContent)).toBe('TASK_ABANDONED');
      const shown = await page.$$eval(`${row} li[data-attempt]`, (els) => els.map((e) => e.textContent ?? ''));
      expect(shown).toHaveLength(3);
      poison.attempts.forEach((a: TaskView['attempts'][number], i) => {
        expect(shown[i]).toContain(`attempt ${a.attempt} on ${a.hive} bee ${a.bee}`);
        expect(shown[i]).toContain(`BEE_MEMORY_EXCEEDED: ${a.error!.message}`);
      });
      // The picture in the docs (docs/dashboard.png) is taken from this run: kills, restarts, diagnostics.
      const shot = process.env.APIARY_DASHBOARD_SCREENSHOT;
      if (shot) await page.screenshot({ path: path.resolve(ROOT, shot) as `${string}.png`, fullPage: true });
    },
    TEST_MS,
  );
});

describe('keeper dashboard without a queen', () => {
  it('exits 3 with a hint when no queen runs, 2 on a stray argument; prints no URL', async () => {
    const home = tempHome();
    try {
      const none = await keeper(['dashboard', '--no-open'], home);
      expect(none.exitCode).toBe(3);
      expect(none.stderr).toMatch(/no queen is running/);
      expect(none.stdout).toBe('');
      const stray = await keeper(['dashboard', 'now'], home);
      expect(stray.exitCode).toBe(2);
      expect(stray.stderr).toMatch(/takes no arguments/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
