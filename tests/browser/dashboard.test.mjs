// The live dashboard in a real browser (Debian's chromium, driven by
// playwright-core) against the real binary: `viewpipe serve` on a free port
// and a temporary data dir, fed by `viewpipe sim` (tests/browser/scenario.toml).
//
//   node --test tests/browser/
//
// VIEWPIPE_BIN overrides the binary (default build/release/viewpipe),
// CHROMIUM the browser (default /usr/bin/chromium). The screenshot goes to
// tests/artifacts/dashboard.png.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import {
  ARTIFACTS, BIN, CHROMIUM, REPO, eventually, freePort, sleep,
} from './harness.mjs';

const WRITE_KEY = 'browser-test-key';

// Waits until fn() returns a truthy value (retrying on exceptions).

// GET with the path sent exactly as given (fetch would normalize "..").
function rawGet(port, rawPath) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

class Process {
  constructor(name, args, logPath) {
    this.name = name;
    this.log = fs.openSync(logPath, 'a');
    this.child = spawn(BIN, args, { cwd: REPO, stdio: ['ignore', this.log, this.log] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, sig) => resolve({ code, sig })));
  }

  async stop(signal = 'SIGTERM') {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15000);
    const r = await this.exited;
    clearTimeout(timer);
    fs.closeSync(this.log);
    return r;
  }
}

const ctx = {};

async function api(p) {
  const res = await fetch(`${ctx.url}${p}`);
  assert.equal(res.status, 200, `${p}: HTTP ${res.status}`);
  return res.json();
}

async function startServer(...extra) {
  ctx.server = new Process('serve', ['serve', '--data-dir', ctx.dataDir, '--host', '127.0.0.1',
    '--port', String(ctx.port), '--write-key', WRITE_KEY, ...extra],
  path.join(ARTIFACTS, 'browser-serve.log'));
  await eventually('/readyz', async () => (await fetch(`${ctx.url}/readyz`)).status === 200);
}

// What the page shows: the number as text and the frame it came from.
async function shown(page) {
  return page.locator('#total').evaluate((el) => ({
    text: el.textContent,
    total: Number(el.dataset.total),
    asOf: Number(el.dataset.asOf),
    state: document.getElementById('conn').dataset.state,
  }));
}

before(async () => {
  assert.ok(fs.existsSync(BIN), `no binary at ${BIN}: build it (scripts/setup.sh) or set VIEWPIPE_BIN`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'viewpipe-browser-'));
  ctx.dataDir = path.join(ctx.tmp, 'data');
  ctx.port = await freePort();
  ctx.url = `http://127.0.0.1:${ctx.port}`;
  await startServer();
  // Real time (speed 1) so event time is now; the scenario's live event
  // starts 10 s in and ramps for 30 s.
  ctx.sim = new Process('sim', ['sim', '--url', ctx.url, '--write-key', WRITE_KEY, '--scenario',
    path.join(REPO, 'tests/browser/scenario.toml'), '--duration', '10m', '--speed', '1', '--seed', '7',
    '--quiet'], path.join(ARTIFACTS, 'browser-sim.log'));
  ctx.browser = await chromium.launchPersistentContext(path.join(ctx.tmp, 'chromium'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1600, height: 1000 },
  });
  ctx.page = ctx.browser.pages()[0] ?? await ctx.browser.newPage();
  ctx.problems = [];
  ctx.page.on('pageerror', (e) => ctx.problems.push(`page error: ${e.message}`));
  ctx.page.on('console', (m) => { if (m.type() === 'error') ctx.problems.push(`console: ${m.text()}`); });
  ctx.page.on('response', (r) => {
    if (r.status() >= 400) ctx.problems.push(`HTTP ${r.status()} ${r.url()}`);
  });
});

after(async () => {
  await ctx.browser?.close();
  await ctx.sim?.stop();
  await ctx.server?.stop();
  if (ctx.tmp) fs.rmSync(ctx.tmp, { recursive: true, force: true });
});

test('static files: the page, its modules and the vendored chart library, nothing else', async () => {
  const expect = {
    '/': 'text/html',
    '/app.js': 'text/javascript',
    '/ops.js': 'text/javascript',
    '/style.css': 'text/css',
    '/vendor/uplot/uPlot.esm.js': 'text/javascript',
    '/vendor/uplot/uPlot.min.css': 'text/css',
  };
  for (const [p, type] of Object.entries(expect)) {
    const r = await rawGet(ctx.port, p);
    assert.equal(r.status, 200, p);
    assert.ok(r.type.startsWith(type), `${p}: ${r.type}`);
  }
  for (const p of ['/../README.md', '/..%2fREADME.md', '/%2e%2e/%2e%2e/etc/passwd', '/web/../package.json',
    '/vendor/uplot/../../package.json', '/vendor/uplot/package.json', '/vendor/playwright-core/package.json',
    '/node_modules/uplot/package.json', '/.npmrc', '/lib/..%2f..%2fCMakeLists.txt']) {
    const r = await rawGet(ctx.port, p);
    assert.equal(r.status, 404, `${p} must be refused, got ${r.status}`);
  }
});

test('the page goes live and the total moves with the traffic', async () => {
  const { page } = ctx;
  await eventually('some concurrent viewers',
    async () => (await api('/v1/ops/concurrency')).total > 0, 60000);
  await page.goto(ctx.url);
  await eventually('a live frame on the page', async () => {
    const s = await shown(page);
    return s.state === 'live' && s.asOf > 0;
  });
  const seen = new Set();
  const first = await shown(page);
  let last = first;
  await eventually('the total to change', async () => {
    last = await shown(page);
    seen.add(last.total);
    return seen.size >= 3 && last.asOf - first.asOf >= 3000;
  }, 30000, 400);
  assert.ok(last.asOf > first.asOf, 'as_of advances');
  // Thousands separators: "12,345".
  assert.equal(last.text, last.total.toLocaleString('en-US'));
  assert.match(await page.locator('#as-of').textContent(), /^\d\d:\d\d:\d\d UTC$/);
});

// Waits up to windowMs for the page to show the API's answer a. Returns
// 'equal', 'moved-on' (the page already shows a later second), or what the
// page still showed when the window closed.
async function pageCatchesUp(page, a, windowMs) {
  const deadline = Date.now() + windowMs;
  for (;;) {
    const p = await shown(page);
    if (p.asOf === a.as_of && p.total === a.total) return 'equal';
    if (p.asOf > a.as_of) return 'moved-on';
    if (Date.now() > deadline) return `${p.total} at ${p.asOf}`;
    await sleep(50);
  }
}

// Under traffic the ops path revises its newest second while stragglers
// arrive (every 50 ms at most), and the stream sends a new second at once
// and a revision within a tick; so under traffic the check is that the
// page's second is never more than one behind the API's. Then the
// simulator pauses: seconds keep coming (the ops watermark follows the
// clock when the log is idle) but nothing revises them, and every answer
// of the API must be on the page within one second.
test('the number shown is the API total within one second', async () => {
  const { page } = ctx;
  const lagCheck = (p, a) => assert.ok(a.as_of - p.asOf <= 1000,
    `page shows as_of ${p.asOf}, the API ${a.as_of} (${a.as_of - p.asOf} ms ahead)`);
  const until = Date.now() + 4000;
  while (Date.now() < until) {
    const p = await shown(page);
    lagCheck(p, await api('/v1/ops/concurrency'));
    await sleep(100);
  }
  ctx.sim.child.kill('SIGSTOP');
  try {
    await sleep(1500);  // requests already sent land
    let equal = 0;
    for (let i = 0; i < 12 && equal < 4; i++) {
      const p = await shown(page);
      const a = await api('/v1/ops/concurrency');
      lagCheck(p, a);
      const outcome = await pageCatchesUp(page, a, 1000 + 250);  // one second, plus request slack
      assert.ok(outcome === 'equal' || outcome === 'moved-on',
        `the API said ${a.total} at ${a.as_of}; a second later the page showed ${outcome}`);
      if (outcome === 'equal') equal++;
      await sleep(300);
    }
    assert.ok(equal >= 4, `the page and the API met on only ${equal} seconds`);
  } finally {
    ctx.sim.child.kill('SIGCONT');
  }
});

test('top lists, live event, pipeline health and the screenshot', async () => {
  const { page } = ctx;
  for (const dim of ['title_id', 'country', 'device_type', 'cdn']) {
    await eventually(`top ${dim}`, async () => (await page.locator(`#top-${dim} li`).count()) > 0);
  }
  await eventually('the pipeline table',
    async () => (await page.locator('#pipeline tbody tr[data-group]').count()) > 0);
  const lag = await api('/v1/pipeline');
  assert.ok(Array.isArray(lag.groups) && lag.groups.length > 0, JSON.stringify(lag));
  for (const g of lag.groups) {
    assert.equal(typeof g.group, 'string');
    assert.equal(typeof g.topic, 'string');
    assert.ok(Number.isInteger(g.lag_events) && g.lag_events >= 0, JSON.stringify(g));
    assert.ok(typeof g.lag_seconds === 'number' && g.lag_seconds >= 0, JSON.stringify(g));
  }
  // The live event's curve, once its ramp is over, and a picture of it all.
  const liveSince = await eventually('the live event', async () => {
    const key = await page.locator('#live-name').textContent();
    return key === 'live-cup-final' && (await shown(page)).asOf;
  }, 60000);
  await eventually('the live ramp', async () => (await shown(page)).asOf - liveSince >= 35000, 60000, 500);
  const live = Number((await page.locator('#live-kpi').textContent()).replace(/,/g, ''));
  const { groups } = await api('/v1/ops/concurrency?by=live_event_id');
  assert.ok(live > 0 && groups.length > 0, `live viewers on the page ${live}, API ${JSON.stringify(groups)}`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  assert.deepEqual(ctx.problems, []);
});

test('a silent stream is flagged stale within seconds, and the page recovers', async () => {
  const { page } = ctx;
  ctx.server.child.kill('SIGSTOP');  // the connection stays open but says nothing
  try {
    await eventually('the stale indicator', async () => {
      const s = await shown(page);
      return s.state === 'stale' && await page.evaluate(() => document.body.classList.contains('is-stale'));
    }, 6000, 200);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-stale.png') });
  } finally {
    ctx.server.child.kill('SIGCONT');
  }
  const trail = [];
  try {
    await eventually('live again', async () => {
      const s = await shown(page);
      const a = await api('/v1/ops/concurrency');
      trail.push(`${Date.now() % 100000} page=${s.state}/${s.asOf % 100000} api=${a.as_of % 100000}`);
      return s.state === 'live';
    }, 15000);
  } catch (err) {
    throw new Error(`${err.message}\n${trail.join('\n')}`);
  }
  assert.ok(!(await page.evaluate(() => document.body.classList.contains('is-stale'))));
});

test('the page reconnects by itself after a server restart', async () => {
  const { page } = ctx;
  const before = await shown(page);
  await ctx.server.stop();
  await eventually('the page to notice', async () => (await shown(page)).state !== 'live', 10000, 200);
  await startServer();
  await eventually('live again after the restart', async () => {
    const s = await shown(page);
    return s.state === 'live' && s.asOf > before.asOf;
  }, 30000);
  ctx.problems = ctx.problems.filter((p) => !p.includes('/v1/'));  // requests during the outage
});

// With read tokens the page is opened once as /?token=...: it keeps the
// token for its tab, drops it from the address bar and goes live; a tab
// without it gets 401s and never shows a number.
test('read tokens: the page works when opened with ?token=, not without', async () => {
  await ctx.server.stop();
  await startServer('--read-token', 'browser-read-token');
  assert.equal((await fetch(`${ctx.url}/v1/ops/concurrency`)).status, 401);
  const page = await ctx.browser.newPage();
  await page.goto(`${ctx.url}/?token=browser-read-token`);
  await eventually('live with the token', async () => {
    const s = await shown(page);
    return s.state === 'live' && s.asOf > 0;
  }, 30000);
  assert.ok(!page.url().includes('token='), `the token stays in the address bar: ${page.url()}`);
  const bare = await ctx.browser.newPage();
  await bare.goto(ctx.url);
  await sleep(3000);
  assert.notEqual((await shown(bare)).state, 'live');
  await bare.close();
  await page.close();
  ctx.problems = ctx.problems.filter((p) => !p.includes('HTTP 401'));
});
