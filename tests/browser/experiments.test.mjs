// The Experiments page in headless Chromium (playwright-core) against the
// real binary: `viewpipe serve` fed by `viewpipe sim` (the default
// scenario's experiments exp-autoplay and exp-row-order), then the page's
// SRM banner and per-metric tables are checked against the API's report.
//
//   node --test tests/browser/experiments.test.mjs
//
// VIEWPIPE_BIN / CHROMIUM as in dashboard.test.mjs. Screenshot:
// tests/artifacts/experiments.png.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { ARTIFACTS, BIN, CHROMIUM, REPO, eventually, freePort } from './harness.mjs';

const WRITE_KEY = 'browser-test-key';
const ctx = {};

function run(args, log) {
  const fd = fs.openSync(path.join(ARTIFACTS, log), 'a');
  const child = spawn(BIN, args, { cwd: REPO, stdio: ['ignore', fd, fd] });
  const exited = new Promise((resolve) => child.once('exit', (code) => { fs.closeSync(fd); resolve(code); }));
  return { child, exited };
}

before(async () => {
  assert.ok(fs.existsSync(BIN), `no binary at ${BIN}`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'viewpipe-xp-'));
  const port = await freePort();
  ctx.url = `http://127.0.0.1:${port}`;
  ctx.server = run(['serve', '--data-dir', path.join(ctx.tmp, 'data'), '--listen', `127.0.0.1:${port}`,
    '--write-key', WRITE_KEY], 'experiments-serve.log');
  await eventually('/readyz', async () => (await fetch(`${ctx.url}/readyz`)).status === 200);
  const sim = run(['sim', '--url', ctx.url, '--write-key', WRITE_KEY, '--viewers', '400', '--duration', '20s',
    '--speed', '20', '--seed', '3', '--senders', '2', '--quiet'], 'experiments-sim.log');
  assert.equal(await sim.exited, 0, 'viewpipe sim failed (tests/artifacts/experiments-sim.log)');
  await eventually('both experiments in the hot tier', async () => {
    const r = await (await fetch(`${ctx.url}/v1/experiments`)).json();
    return r.experiments.length === 2;
  });
  ctx.browser = await chromium.launchPersistentContext(path.join(ctx.tmp, 'chromium'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1500, height: 1400 },
  });
  ctx.page = ctx.browser.pages()[0] ?? await ctx.browser.newPage();
  ctx.problems = [];
  ctx.page.on('pageerror', (e) => ctx.problems.push(`page error: ${e.message}`));
  ctx.page.on('response', (r) => { if (r.status() >= 400) ctx.problems.push(`HTTP ${r.status()} ${r.url()}`); });
});

after(async () => {
  await ctx.browser?.close();
  if (ctx.server) {
    ctx.server.child.kill('SIGTERM');
    await ctx.server.exited;
  }
  if (ctx.tmp) fs.rmSync(ctx.tmp, { recursive: true, force: true });
});

test('the experiments page shows the SRM check first and each metric per variant', async () => {
  const page = ctx.page;
  await page.goto(`${ctx.url}/#/experiments`);
  await page.waitForSelector('#xp-report[data-experiment="exp-autoplay"] [data-metric="start_failure_rate"]', { timeout: 60000 });
  const api = await (await fetch(`${ctx.url}/v1/experiments/exp-autoplay/report`)).json();
  const shown = await page.evaluate(() => {
    const report = document.getElementById('xp-report');
    const first = report.firstElementChild;
    const rows = [...document.querySelectorAll('[data-metric="watch_time_s"] tbody tr')]
      .map((tr) => ({ variant: tr.dataset.variant, users: Number(tr.children[1].textContent) }));
    return { firstId: first.id, flagged: first.dataset.flagged,
      metrics: [...report.querySelectorAll('[data-metric]')].map((e) => e.dataset.metric), rows };
  });
  assert.equal(shown.firstId, 'xp-srm', 'the SRM banner comes before the results');
  assert.equal(shown.flagged, String(api.srm.flagged));
  assert.deepEqual(shown.metrics, ['watch_time_s', 'sessions', 'completion_rate', 'rebuffering_ratio',
    'start_failure_rate']);
  assert.deepEqual(shown.rows, api.variants.map((v) => ({ variant: v.variant, users: v.users })));
  assert.ok(api.variants.every((v) => v.users > 0));

  await page.selectOption('#xp-select', 'exp-row-order');
  await page.waitForSelector('#xp-report[data-experiment="exp-row-order"]');
  const variants = await page.$$eval('[data-metric="sessions"] tbody tr', (trs) => trs.map((t) => t.dataset.variant));
  assert.deepEqual(variants, ['a', 'b', 'c']);
  await page.screenshot({ path: path.join(ARTIFACTS, 'experiments.png'), fullPage: true });
  assert.deepEqual(ctx.problems, []);
});
