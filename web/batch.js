// The "Content" page: the weekly title / genre / country stats of the batch
// consumers (GET /v1/batch/weekly?week=) and their run ledger
// (GET /v1/batch/runs). Refreshed whenever the tab comes into view and
// every 30 s while it is open.

const REFRESH_MS = 30000;
const $ = (id) => document.getElementById(id);

async function fetchJson(url) {
  const res = await fetch(url, { cache: 'no-store' });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || `${url}: HTTP ${res.status}`);
  return body;
}

const fmtInt = (v) => (v == null ? '—' : Math.round(v).toLocaleString('en-US'));
const fmtNum = (v, d = 1) => (v == null ? '—' : Number(v).toFixed(d));
const fmtPct = (v) => (v == null ? '—' : `${(100 * v).toFixed(1)} %`);
const fmtChange = (v) => (v == null ? '—' : `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)} %`);
const fmtTime = (ms) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '—');

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
}

function emptyRow(tbody, cols, text) {
  tbody.replaceChildren();
  const tr = document.createElement('tr');
  const td = document.createElement('td');
  td.colSpan = cols;
  td.className = 'muted';
  td.textContent = text;
  tr.appendChild(td);
  tbody.appendChild(tr);
}

export function mountBatch() {
  let week = '';
  let dimension = 'title';
  let timer = null;

  function renderWeekly(data) {
    const select = $('batch-week');
    select.replaceChildren(...data.weeks.map((w) => new Option(w, w, false, w === data.week)));
    $('batch-week-note').textContent = data.provisional ? 'provisional (run with --force)' : '';
    const rows = data.rows.filter((r) => r.dimension === dimension);
    const tbody = $('batch-weekly').querySelector('tbody');
    if (!rows.length) return emptyRow(tbody, 9, `no ${dimension} rows in ${data.week}`);
    tbody.replaceChildren(...rows.map((r) => {
      const tr = document.createElement('tr');
      tr.dataset.key = r.key;
      cell(tr, r.key);
      cell(tr, fmtInt(r.unique_viewers), 'r');
      cell(tr, fmtNum(r.hours_watched), 'r');
      cell(tr, fmtInt(r.sessions), 'r');
      cell(tr, fmtPct(r.completion_rate), 'r');
      cell(tr, fmtNum(r.avg_session_minutes), 'r');
      cell(tr, fmtPct(r.second_start_share), 'r');
      cell(tr, fmtInt(r.live_peak_concurrency), 'r');
      cell(tr, fmtChange(r.hours_wow_change), 'r');
      return tr;
    }));
  }

  function renderRuns(data) {
    const tbody = $('batch-runs').querySelector('tbody');
    if (!data.runs.length) return emptyRow(tbody, 7, 'no runs yet');
    tbody.replaceChildren(...data.runs.map((r) => {
      const tr = document.createElement('tr');
      tr.dataset.status = r.status;
      cell(tr, `${r.job} ${r.partition}`);
      cell(tr, r.trigger);
      cell(tr, r.status + (r.provisional ? ' (provisional)' : ''));
      cell(tr, fmtTime(r.start_ms));
      cell(tr, r.end_ms ? `${((r.end_ms - r.start_ms) / 1000).toFixed(1)} s` : '—', 'r');
      cell(tr, fmtInt(r.rows), 'r');
      cell(tr, r.error || '', 'muted');
      return tr;
    }));
  }

  async function refresh() {
    try {
      const url = week ? `/v1/batch/weekly?week=${encodeURIComponent(week)}` : '/v1/batch/weekly';
      renderWeekly(await fetchJson(url));
    } catch (err) {
      emptyRow($('batch-weekly').querySelector('tbody'), 9, `no weekly stats yet (${err.message})`);
    }
    try {
      renderRuns(await fetchJson('/v1/batch/runs?limit=50'));
    } catch (err) {
      emptyRow($('batch-runs').querySelector('tbody'), 7, err.message);
    }
  }

  $('batch-week').addEventListener('change', (e) => { week = e.target.value; refresh(); });
  for (const b of document.querySelectorAll('#batch-dims button')) {
    b.addEventListener('click', () => {
      dimension = b.dataset.dim;
      for (const o of document.querySelectorAll('#batch-dims button')) o.classList.toggle('on', o === b);
      refresh();
    });
  }
  return {
    show() {
      refresh();
      if (!timer) {
        timer = setInterval(() => {
          if (!$('page-content').hidden) refresh();
        }, REFRESH_MS);
      }
    },
  };
}
