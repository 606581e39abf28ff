// The "Live operations" page: concurrent viewers pushed every second over
// SSE (/v1/ops/stream), with the last hour of history from
// /v1/ops/concurrency/series, the top titles / countries / devices / CDNs,
// the top live event's curve, and the consumer groups' lag (/v1/pipeline).

import { LiveStream } from './lib/stream.js';
import { TimeChart } from './lib/chart.js';
import {
  formatClock, formatDelta, formatInt, formatSeconds, formatShare,
} from './lib/format.js';

const HOUR_MS = 3600 * 1000;
const STALE_MS = 3000;
const TOP_ROWS = 8;
const REFRESH_EVERY_MS = 5000;
const REFRESH_SPAN_MS = 120 * 1000;
const DIMS = ['title_id', 'country', 'device_type', 'cdn'];
const DEVICE_NAMES = {
  tv: 'TV', mobile: 'Mobile', tablet: 'Tablet', web: 'Web', console: 'Console', other: 'Other',
};
const regionNames = new Intl.DisplayNames(['en'], { type: 'region' });

const $ = (id) => document.getElementById(id);

async function fetchJson(url, timeoutMs = 5000) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const res = await fetch(url, { signal: ctl.signal, cache: 'no-store' });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    return await res.json();
  } finally {
    clearTimeout(timer);
  }
}

function seriesUrl(asOf, by, key, spanMs = HOUR_MS) {
  const q = new URLSearchParams({ from: asOf - spanMs, to: asOf, step: 1000 });
  if (by) {
    q.set('by', by);
    q.set('key', key);
  }
  return `/v1/ops/concurrency/series?${q}`;
}

function label(dim, key) {
  if (dim === 'device_type') return DEVICE_NAMES[key] ?? key;
  if (dim === 'country') {
    let name = key;
    try {
      name = regionNames.of(key) ?? key;
    } catch { /* not a region code */ }
    return name === key ? key : `${key} · ${name}`;
  }
  return key;
}

// A chart fed from two sources: the history a request returns and the points
// the stream pushes meanwhile. Pushed points win where both overlap.
class SeriesFeed {
  constructor(chart) {
    this.chart = chart;
    this.pending = null;
    this.generation = 0;
    this.refreshing = false;
  }

  async load(fetchPoints) {
    const generation = ++this.generation;
    this.pending = [];
    let points = [];
    try {
      points = (await fetchPoints()) ?? [];
    } catch (err) {
      console.warn('history unavailable:', err.message);
    }
    if (generation !== this.generation) return;
    const pushed = this.pending;
    this.pending = null;
    const from = pushed.length ? pushed[0][0] : Infinity;
    this.chart.setPoints(points.filter((p) => p[0] < from).concat(pushed));
  }

  push(ms, value) {
    if (this.pending) this.pending.push([ms, value]);
    else this.chart.push(ms, value);
  }

  // Re-reads a recent range and merges it (revised seconds, and seconds
  // the stream skipped). Skipped while a full load is running.
  async refresh(fetchPoints) {
    if (this.pending || this.refreshing) return;
    const generation = this.generation;
    this.refreshing = true;
    try {
      const points = (await fetchPoints()) ?? [];
      if (generation === this.generation && !this.pending) this.chart.merge(points);
    } catch (err) {
      console.warn('refresh failed:', err.message);
    } finally {
      this.refreshing = false;
    }
  }

  clear() {
    this.generation++;
    this.pending = null;
    this.chart.setPoints([]);
  }
}

// Renders a ranked bar list in place (rows are reused, so no flicker).
function renderBars(list, dim, groups, total) {
  const rows = (groups ?? []).slice(0, TOP_ROWS);
  const max = rows.reduce((m, g) => Math.max(m, g.viewers), 0) || 1;
  while (list.children.length > rows.length) list.lastElementChild.remove();
  while (list.children.length < rows.length) {
    const li = document.createElement('li');
    li.innerHTML = '<span class="k"></span><span class="bar"><i></i></span>' +
      '<span class="v num"></span><span class="s num"></span>';
    list.appendChild(li);
  }
  rows.forEach((g, i) => {
    const li = list.children[i];
    const name = label(dim, g.key);
    li.dataset.key = g.key;
    li.children[0].textContent = name;
    li.children[0].title = name;
    li.children[1].firstElementChild.style.width = `${(100 * g.viewers) / max}%`;
    li.children[2].textContent = formatInt(g.viewers);
    li.children[3].textContent = formatShare(g.viewers, total);
  });
  list.classList.toggle('is-empty', rows.length === 0);
}

// Lag is measured from committed offsets, and groups commit every few
// seconds (ops: 10 s), so a healthy group saw-tooths between 0 and its
// commit interval. Past that it is behind; past a minute it breaks the
// dashboard's sub-minute promise.
const LAG_WARN_S = 15;
const LAG_CRIT_S = 60;

function lagStatus(g) {
  if (g.lag_seconds >= LAG_CRIT_S) return ['crit', 'Stalled'];
  if (g.lag_seconds >= LAG_WARN_S) return ['warn', 'Behind'];
  return ['ok', 'Healthy'];
}

function renderPipeline(data) {
  const body = $('pipeline').tBodies[0];
  const groups = data.groups ?? [];
  body.textContent = '';
  if (!groups.length) {
    body.innerHTML = '<tr><td colspan="5" class="muted">no consumer group has committed yet</td></tr>';
  }
  let worst = null;
  for (const g of groups) {
    const [cls, text] = lagStatus(g);
    const tr = document.createElement('tr');
    tr.dataset.group = g.group;
    for (const [value, klass] of [[g.group, 'strong'], [g.topic, 'muted'],
      [formatInt(g.lag_events), 'r num'], [formatSeconds(g.lag_seconds), 'r num']]) {
      const td = document.createElement('td');
      td.className = klass;
      td.textContent = value;
      tr.appendChild(td);
    }
    const td = document.createElement('td');
    td.innerHTML = `<span class="badge badge-${cls}"></span>`;
    td.firstElementChild.textContent = text;
    tr.appendChild(td);
    body.appendChild(tr);
    if (!worst || g.lag_seconds > worst.lag_seconds) worst = g;
  }
  const kpi = $('pipeline-kpi');
  if (!worst) {
    kpi.textContent = '—';
    kpi.className = 'kpi-value kpi-value-sm';
    $('pipeline-kpi-sub').textContent = 'no consumer groups yet';
    return;
  }
  const [cls] = lagStatus(worst);
  kpi.textContent = formatSeconds(worst.lag_seconds);
  kpi.className = `kpi-value kpi-value-sm lag-${cls}`;
  const behind = groups.filter((g) => lagStatus(g)[0] !== 'ok').length;
  $('pipeline-kpi-sub').textContent = behind
    ? `${behind} of ${groups.length} groups behind · worst: ${worst.group}`
    : `max lag · ${groups.length === 1 ? '1 group' : `${groups.length} groups`} healthy`;
}

export function mountOps() {
  const totalChart = new TimeChart($('chart-total'), {
    label: 'viewers', color: '#4cc3ff', rangeSec: 900,
  });
  const liveChart = new TimeChart($('chart-live'), {
    label: 'live viewers', color: '#ff5d8f', rangeSec: 900,
  });
  const totalFeed = new SeriesFeed(totalChart);
  const liveFeed = new SeriesFeed(liveChart);
  let liveKey = null;
  let lastAsOf = 0;
  let advancedAt = 0;  // wall time (ms) when as_of last moved forward

  function showTotal(asOf, total) {
    if (asOf < lastAsOf) return;
    if (asOf > lastAsOf) advancedAt = Date.now();
    lastAsOf = asOf;
    const el = $('total');
    el.textContent = formatInt(total);
    el.dataset.total = String(total);
    el.dataset.asOf = String(asOf);
    const t = $('as-of');
    t.textContent = formatClock(asOf);
    t.dataset.asOf = String(asOf);
    t.dateTime = new Date(asOf).toISOString();
  }

  function showDerived(total) {
    const ago = totalChart.valueAgo(60);
    const delta = ago == null ? null : total - ago;
    const d = $('total-delta');
    d.textContent = formatDelta(delta);
    d.className = `delta ${delta > 0 ? 'up' : delta < 0 ? 'down' : ''}`;
    const peak = totalChart.peak(3600);
    $('peak').textContent = peak ? formatInt(peak.value) : '—';
    $('peak-at').textContent = peak ? `at ${formatClock(peak.ms)}` : '—';
  }

  function showLive(frame) {
    const top = frame.top?.live_event_id?.[0];
    const card = $('chart-live').closest('.card');
    if (!top || !top.viewers) {
      if (liveKey !== null) liveFeed.clear();
      liveKey = null;
      card.classList.add('no-live');
      $('live-name').textContent = '';
      $('live-now').textContent = '';
      $('live-kpi').textContent = '—';
      $('live-kpi-name').textContent = 'no live event';
      return;
    }
    card.classList.remove('no-live');
    if (top.key !== liveKey) {
      liveKey = top.key;
      liveFeed.clear();
      const key = top.key;
      liveFeed.load(async () => (await fetchJson(seriesUrl(frame.as_of, 'live_event_id', key))).points);
    }
    liveFeed.push(frame.as_of, top.viewers);
    $('live-name').textContent = top.key;
    $('live-now').textContent = `${formatInt(top.viewers)} watching`;
    $('live-kpi').textContent = formatInt(top.viewers);
    $('live-kpi-name').textContent = `${top.key} · ${formatShare(top.viewers, frame.total)} of all viewers`;
  }

  // The stream carries each second as first published; the ops path may
  // revise it as stragglers arrive, and under load the stream skips
  // seconds. Every few seconds (and soon after a skip) the charts re-read
  // the last two minutes so they show the settled values.
  let refreshTimer = null;
  function refreshSoon(delayMs) {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      if (!lastAsOf) return;
      const recent = async (by, key) =>
        (await fetchJson(seriesUrl(lastAsOf, by, key, REFRESH_SPAN_MS))).points;
      totalFeed.refresh(() => recent());
      const key = liveKey;
      if (key) liveFeed.refresh(() => recent('live_event_id', key));
    }, delayMs);
  }
  setInterval(() => refreshSoon(0), REFRESH_EVERY_MS);

  function onFrame(frame) {
    if (typeof frame.as_of !== 'number' || typeof frame.total !== 'number') return;
    if (lastAsOf && frame.as_of - lastAsOf > 1000) refreshSoon(1000);
    showTotal(frame.as_of, frame.total);
    totalFeed.push(frame.as_of, frame.total);
    showDerived(frame.total);
    for (const dim of DIMS) renderBars($(`top-${dim}`), dim, frame.top?.[dim], frame.total);
    showLive(frame);
  }

  async function loadHistory() {
    await totalFeed.load(async () => {
      const now = await fetchJson('/v1/ops/concurrency');
      if (!now.as_of) return [];
      showTotal(now.as_of, now.total);
      return (await fetchJson(seriesUrl(now.as_of))).points;
    });
    showDerived(Number($('total').dataset.total || 0));
  }

  const conn = $('conn');
  let stream = null;
  function showConnection() {
    // Stale: no frame for a while, or frames that repeat an old second (the
    // stream re-sends the last one when the ops path stops moving).
    const frozen = advancedAt ? Date.now() - advancedAt : Infinity;
    const silence = Math.max(stream ? stream.silenceMs() : Infinity, frozen);
    const silent = silence > STALE_MS;
    let state = stream?.state || 'connecting';
    if (state === 'live' && silent) state = 'stale';
    const secs = silent && Number.isFinite(silence) ? ` · ${Math.round(silence / 1000)} s` : '';
    const text = {
      connecting: 'Connecting…', live: 'Live', stale: `Stale${secs}`, reconnecting: `Reconnecting${secs}`,
    }[state];
    conn.dataset.state = state;
    conn.className = `pill pill-${state}`;
    conn.title = silent && Number.isFinite(silence)
      ? `No update for ${Math.round(silence / 1000)} s` : 'Updates every second';
    conn.querySelector('.pill-text').textContent = text;
    document.body.classList.toggle('is-stale', silent && lastAsOf > 0);
  }

  stream = new LiveStream('/v1/ops/stream', {
    onMessage: onFrame,
    onState: showConnection,
    onReopen: () => {  // refill what was missed while disconnected
      loadHistory();
      liveKey = null;
    },
    staleAfterMs: STALE_MS,
  });
  setInterval(showConnection, 500);
  loadHistory();

  let pipelineAt = 0;
  async function pollPipeline() {
    try {
      renderPipeline(await fetchJson('/v1/pipeline', 3000));
      pipelineAt = Date.now();
    } catch (err) {
      console.warn(err.message);
    }
    setTimeout(pollPipeline, 1000);
  }
  setInterval(() => {
    const old = pipelineAt > 0 && Date.now() - pipelineAt > STALE_MS;
    $('pipeline').closest('.card').classList.toggle('is-stale', old);
    $('pipeline-kpi').closest('.card').classList.toggle('is-stale', old);
  }, 500);
  pollPipeline();

  for (const b of document.querySelectorAll('.seg [data-range]')) {
    b.addEventListener('click', () => {
      for (const o of b.parentElement.children) o.classList.toggle('on', o === b);
      totalChart.setRange(Number(b.dataset.range));
      liveChart.setRange(Number(b.dataset.range));
    });
  }

  return {
    show() {
      totalChart.resize();
      liveChart.resize();
    },
  };
}
