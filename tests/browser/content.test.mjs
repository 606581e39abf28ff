// The "Content" tab (web/batch.js) in headless Chromium against the real
// binary: a backfilled lake (`viewpipe backfill`), the weekly job run by
// hand (`viewpipe batch weekly`), then `viewpipe serve` on it; the page must
// show what GET /v1/batch/weekly and /v1/batch/runs answer.
//
//   node --test tests/browser/content.test.mjs
//
// VIEWPIPE_BIN and CHROMIUM as in dashboard.test.mjs. Screenshot:
// tests/artifacts/content.png.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { ARTIFACTS, BIN, CHROMIUM, REPO, eventually, freePort } from './harness.mjs';

const ctx = {};

const api = async (p) => (await fetch(`${ctx.url}${p}`)).json();
const vp = (...args) => execFileSync(BIN, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

function isoWeek(date) {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  d.setUTCDate(d.getUTCDate() + 3 - ((d.getUTCDay() + 6) % 7));  // the week's Thursday
  const jan4 = new Date(Date.UTC(d.getUTCFullYear(), 0, 4));
  const week = 1 + Math.round((d - jan4) / 86400000 / 7 - 3 / 7 + ((jan4.getUTCDay() + 6) % 7) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

before(async () => {
  assert.ok(fs.existsSync(BIN), `no binary at ${BIN}`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'viewpipe-content-'));
  const data = path.join(ctx.tmp, 'data');
  const now = new Date();
  const monday = new Date(now.getTime() - ((now.getUTCDay() + 6) % 7) * 86400000);
  const end = monday.toISOString().slice(0, 10);
  ctx.week = isoWeek(new Date(monday.getTime() - 7 * 86400000));
  vp('backfill', '--data-dir', data, '--days', '8', '--events-per-day', '2000', '--end-date', end,
    '--no-hot', '--zstd-level', '3', '--seed', '4');
  fs.writeFileSync(path.join(data, 'catalog.csv'), 'title_id,genre,kind,duration_s\n');
  vp('batch', 'weekly', '--week', ctx.week, '--data-dir', data);
  ctx.port = await freePort();
  ctx.url = `http://127.0.0.1:${ctx.port}`;
  ctx.log = fs.openSync(path.join(ARTIFACTS, 'content-serve.log'), 'a');
  ctx.server = spawn(BIN, ['serve', '--data-dir', data, '--host', '127.0.0.1', '--port', String(ctx.port),
    '--write-key', 'content-key'], { cwd: REPO, stdio: ['ignore', ctx.log, ctx.log],
    env: { ...process.env, VIEWPIPE_BATCH: '0' } });
  await eventually('/readyz', async () => (await fetch(`${ctx.url}/readyz`)).status === 200);
  ctx.browser = await chromium.launchPersistentContext(path.join(ctx.tmp, 'chromium'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'],
    viewport: { width: 1600, height: 1000 },
  });
  ctx.page = ctx.browser.pages()[0] ?? await ctx.browser.newPage();
  ctx.problems = [];
  ctx.page.on('pageerror', (e) => ctx.problems.push(`page error: ${e.message}`));
});

after(async () => {
  await ctx.browser?.close();
  if (ctx.server && ctx.server.exitCode === null) {
    ctx.server.kill('SIGTERM');
    await new Promise((r) => ctx.server.once('exit', r));
  }
  if (ctx.tmp) fs.rmSync(ctx.tmp, { recursive: true, force: true });
});

test('the Content tab shows the weekly title stats and the run ledger', async () => {
  const { page } = ctx;
  const weekly = await api(`/v1/batch/weekly?week=${ctx.week}`);
  assert.equal(weekly.week, ctx.week);
  const titles = weekly.rows.filter((r) => r.dimension === 'title');
  assert.ok(titles.length > 0);
  await page.goto(`${ctx.url}/#/content`);
  await eventually('the weekly table', async () =>
    (await page.locator('#batch-weekly tbody tr[data-key]').count()) === titles.length);
  const keys = await page.locator('#batch-weekly tbody tr[data-key]').evaluateAll(
    (trs) => trs.map((tr) => [tr.dataset.key, tr.children[2].textContent]));
  assert.deepEqual(keys.map((k) => k[0]), titles.map((r) => r.key));  // most hours first
  assert.equal(keys[0][1], titles[0].hours_watched.toFixed(1));
  assert.equal(await page.locator('#batch-week').inputValue(), ctx.week);
  // Genres: an empty catalog puts every title under "unknown".
  await page.locator('#batch-dims button[data-dim="genre"]').click();
  await eventually('the genre rows', async () => {
    const k = await page.locator('#batch-weekly tbody tr[data-key]').evaluateAll(
      (trs) => trs.map((tr) => tr.dataset.key));
    return k.length === 1 && k[0] === 'unknown';
  });
  const runs = await api('/v1/batch/runs');
  assert.equal(runs.runs[0].status, 'ok');
  const row = page.locator('#batch-runs tbody tr').first();
  assert.equal(await row.getAttribute('data-status'), 'ok');
  // The weekly run and the dailies it ran first (trigger weekly-<week>) are
  // all in the ledger; the dailies started after the weekly, so a daily may
  // be the newest row.
  const weeklyRow = page.locator('#batch-runs tbody tr', { hasText: `weekly ${ctx.week}` }).first();
  assert.equal(await weeklyRow.getAttribute('data-status'), 'ok');
  const weeklyRun = runs.runs.find((r) => r.job === 'weekly' && r.partition === ctx.week);
  assert.equal(weeklyRun?.status, 'ok');
  await page.screenshot({ path: path.join(ARTIFACTS, 'content.png'), fullPage: true });
  assert.deepEqual(ctx.problems, []);
});
