// The "SRE" page: playback quality per CDN over time (VSF rate and
// rebuffering ratio per 10 s window, /v1/sre/qoe/series), the QoE of the
// last minute per CDN and per country (/v1/sre/qoe), and the open and
// recent alerts (/v1/sre/alerts). Polled every 5 s while the tab is shown.

import uPlot from '/vendor/uplot/uPlot.esm.js';

const POLL_MS = 5000;
const RANGE_S = 1800;
const COLORS = ['#4cc3ff', '#ff5d8f', '#ffd166', '#7ae582', '#b28dff', '#ff9f43'];
const AXIS = { stroke: '#8b98a9', grid: { stroke: 'rgba(139,152,169,0.12)', width: 1 },
  ticks: { stroke: 'rgba(139,152,169,0.12)', width: 1 }, font: '11px system-ui, sans-serif' };

const $ = (id) => document.getElementById(id);
const pct = (v) => (v == null ? '—' : `${(100 * v).toFixed(v < 0.01 ? 2 : 1)} %`);
const ms = (v) => (v == null ? '—' : `${Math.round(v)} ms`);
const utc = (t) => (t == null ? '—' : new Date(t).toISOString().slice(11, 19));

async function fetchJson(url) {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

function td(text, cls) {
  const c = document.createElement('td');
  c.textContent = text;
  if (cls) c.className = cls;
  return c;
}

// One uPlot chart with a line per key, all on the same x (10 s windows).
class MultiChart {
  constructor(el, keys, format) {
    this.el = el;
    this.keys = keys;
    this.plot = new uPlot({
      width: Math.max(el.clientWidth, 300), height: 220,
      legend: { show: true }, scales: { x: { time: true } },
      series: [{}, ...keys.map((k, i) => ({ label: k, stroke: COLORS[i % COLORS.length], width: 2,
        value: (u, v) => format(v) }))],
      axes: [AXIS, { ...AXIS, size: 60, values: (u, s) => s.map(format) }],
    }, [[], ...keys.map(() => [])], el);
  }

  setData(byKey) {
    const xs = [...new Set(Object.values(byKey).flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
    this.plot.setData([xs.map((x) => x / 1000), ...this.keys.map((k) => xs.map((x) => byKey[k]?.get(x) ?? null))]);
    this.el.dataset.points = String(xs.length);
  }
}

function renderQoe(tbody, data) {
  tbody.replaceChildren(...data.groups.slice(0, 12).map((g) => {
    const tr = document.createElement('tr');
    tr.dataset.key = g.key;
    tr.append(td(g.key), td(String(g.attempts), 'r num'), td(pct(g.vsf_rate), 'r num'),
      td(pct(g.ebvs_rate), 'r num'), td(ms(g.vst_p50_ms), 'r num'), td(ms(g.vst_p95_ms), 'r num'),
      td(pct(g.rebuffer_ratio), 'r num'), td(pct(g.playback_failure_rate), 'r num'),
      td(g.avg_bitrate_kbps == null ? '—' : `${Math.round(g.avg_bitrate_kbps)} kbps`, 'r num'));
    return tr;
  }));
}

function renderAlerts(tbody, alerts) {
  if (!alerts.length) {
    const tr = document.createElement('tr');
    tr.append(td('No alerts.', 'muted'));
    tbody.replaceChildren(tr);
    return;
  }
  tbody.replaceChildren(...alerts.slice(0, 30).map((a) => {
    const tr = document.createElement('tr');
    tr.className = `alert-${a.state} sev-${a.severity}`;
    tr.dataset.id = a.id;
    const value = a.metric.endsWith('_rate') || a.metric.endsWith('_ratio') ? pct : (v) => String(Math.round(v));
    tr.append(td(a.state), td(a.severity), td(a.kind), td(`${a.dimension}=${a.key}`), td(a.metric),
      td(`${value(a.value)} (baseline ${value(a.baseline)})`, 'num'), td(utc(a.started_at), 'num'),
      td(utc(a.detected_at), 'num'), td(utc(a.resolved_at), 'num'));
    return tr;
  }));
}

export function mountSre() {
  let charts = null;
  let timer = null;

  async function poll() {
    try {
      const [byCdn, byCountry, alerts] = await Promise.all([
        fetchJson('/v1/sre/qoe?by=cdn&window=60'),
        fetchJson('/v1/sre/qoe?by=country&window=60'),
        fetchJson(`/v1/sre/alerts?state=all&since=${Date.now() - 24 * 3600 * 1000}`),
      ]);
      renderQoe($('sre-cdn').tBodies[0], byCdn);
      renderQoe($('sre-country').tBodies[0], byCountry);
      renderAlerts($('sre-alerts').tBodies[0], alerts.alerts);
      $('sre-open').textContent = String(alerts.alerts.filter((a) => a.state === 'open').length);
      $('sre-as-of').textContent = `as of ${utc(byCdn.as_of)} UTC (event time)`;
      const keys = byCdn.groups.map((g) => g.key).sort().slice(0, COLORS.length);
      if (!charts || charts.keys.join() !== keys.join()) {
        $('sre-chart-vsf').replaceChildren();
        $('sre-chart-rebuffer').replaceChildren();
        charts = { keys, vsf: new MultiChart($('sre-chart-vsf'), keys, pct),
          rebuffer: new MultiChart($('sre-chart-rebuffer'), keys, pct) };
      }
      const series = await Promise.all(keys.map((k) => fetchJson(
        `/v1/sre/qoe/series?by=cdn&key=${encodeURIComponent(k)}&step=10&range=${RANGE_S}`)));
      const vsf = {}; const reb = {};
      keys.forEach((k, i) => {
        vsf[k] = new Map(series[i].points.map((p) => [p.at, p.vsf_rate]));
        reb[k] = new Map(series[i].points.map((p) => [p.at, p.rebuffer_ratio]));
      });
      charts.vsf.setData(vsf);
      charts.rebuffer.setData(reb);
      $('sre-status').textContent = '';
    } catch (err) {
      $('sre-status').textContent = `waiting for the SRE path: ${err.message}`;
    }
  }

  return {
    show() {
      if (timer) return;
      poll();
      timer = setInterval(() => { if (!$('page-sre').hidden) poll(); }, POLL_MS);
    },
  };
}
