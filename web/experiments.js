// The Experiments page: the experiments the hot tier has seen
// (GET /v1/experiments) and the report of the chosen one
// (GET /v1/experiments/<id>/report): the sample-ratio-mismatch check first,
// then per metric each variant against control with its 95 % CI, p-value,
// Holm-adjusted p-value and the CUPED estimate with its variance reduction.

// [key, label, show a value, show a difference (same unit)]
const METRICS = [
  ['watch_time_s', 'Watch time per user (s)', (v) => fmt(v, 1), (v) => fmt(v, 2)],
  ['sessions', 'Sessions per user', (v) => fmt(v, 3), (v) => fmt(v, 4)],
  ['completion_rate', 'Completion rate (%)', pct, pp],
  ['rebuffering_ratio', 'Rebuffering ratio (%)', pct, pp],
  ['start_failure_rate', 'Start-failure rate (%)', pct, pp],
];

function fmt(v, digits = 3) {
  return v === null || v === undefined || Number.isNaN(v) ? '—' : Number(v).toFixed(digits);
}
function pct(v) {
  return v === null || v === undefined ? '—' : `${(100 * v).toFixed(2)} %`;
}
function pp(v) {  // a difference of rates, in percentage points
  return v === null || v === undefined ? '—' : (100 * v).toFixed(3);
}
function pval(p) {
  if (p === null || p === undefined) return '—';
  return p < 0.0001 ? '< 0.0001' : p.toFixed(4);
}
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

const CSS = `
.xp-bar { display: flex; gap: 12px; align-items: center; margin-bottom: 16px; }
.xp-bar select { background: var(--panel); color: inherit; border: 1px solid rgba(255,255,255,.15); border-radius: 6px; padding: 6px 10px; }
.xp-srm { padding: 10px 14px; border-radius: 8px; margin-bottom: 16px; }
.xp-srm-ok { background: rgba(53, 211, 154, 0.1); border: 1px solid rgba(53, 211, 154, 0.35); }
.xp-srm-bad { background: rgba(255, 91, 91, 0.12); border: 1px solid rgba(255, 91, 91, 0.5); }
.xp-metric { margin-bottom: 16px; }
.xp-sig { font-weight: 700; }
.xp-up { color: var(--ok); } .xp-down { color: var(--crit); }
`;

function srmBanner(rep) {
  const bad = rep.srm.flagged;
  const split = rep.srm.expected_split.map((w) => `${(100 * w).toFixed(1)} %`).join(' / ');
  return el('div', { id: 'xp-srm', class: `xp-srm ${bad ? 'xp-srm-bad' : 'xp-srm-ok'}`, 'data-flagged': String(bad) },
    bad ? `Sample ratio mismatch (p = ${pval(rep.srm_p_value)}): the assignment is broken; do not trust the results below.`
      : `Sample ratio check passed (p = ${pval(rep.srm_p_value)}).`,
    ` Expected split ${split} (${rep.srm.expected_split_source}); ${rep.mixed_users} profiles seen in two variants excluded.`);
}

function metricCard(rep, [key, label, show, showDiff]) {
  const rows = rep.variants.map((v) => {
    const m = v.metrics[key];
    const ctl = v.variant === rep.control;
    const diff = ctl ? '—' : `${showDiff(m.diff)} [${showDiff(m.ci_low)}, ${showDiff(m.ci_high)}]`;
    const rel = ctl || m.rel_diff === null ? '' : `${m.rel_diff >= 0 ? '+' : ''}${fmt(100 * m.rel_diff, 2)} %`;
    const sig = !ctl && m.p_value !== null && m.p_value < 0.05;
    const cuped = !ctl && m.cuped
      ? `${showDiff(m.cuped.diff)} [${showDiff(m.cuped.ci_low)}, ${showDiff(m.cuped.ci_high)}] · var −${fmt(100 * m.cuped.variance_reduction, 1)} %`
      : '';
    return el('tr', { 'data-variant': v.variant },
      el('td', {}, ctl ? `${v.variant} (control)` : v.variant), el('td', { class: 'r num' }, v.users),
      el('td', { class: 'r num' }, show(m.mean)), el('td', { class: 'r num' }, diff),
      el('td', { class: `r num ${sig ? 'xp-sig' : ''} ${m.rel_diff > 0 ? 'xp-up' : 'xp-down'}` }, rel),
      el('td', { class: 'r num' }, ctl ? '' : pval(m.p_value)), el('td', { class: 'r num' }, ctl ? '' : pval(m.p_holm)),
      el('td', { class: 'r num muted' }, cuped));
  });
  const head = el('tr', {}, ...['Variant', 'Users', 'Mean', 'Diff [95 % CI]', 'Relative', 'p', 'p (Holm)', 'CUPED diff [95 % CI]']
    .map((h, i) => el('th', { class: i > 0 ? 'r' : '' }, h)));
  return el('article', { class: 'card xp-metric', 'data-metric': key },
    el('header', { class: 'card-head' }, el('h2', {}, label)),
    el('table', { class: 'table' }, el('thead', {}, head), el('tbody', {}, ...rows)));
}

export function mountExperiments() {
  const root = document.getElementById('page-experiments');
  document.head.append(el('style', {}, CSS));
  const select = el('select', { id: 'xp-select', 'aria-label': 'Experiment' });
  const status = el('span', { id: 'xp-status', class: 'muted' }, '');
  const body = el('div', { id: 'xp-report' });
  root.replaceChildren(el('div', { class: 'xp-bar' }, el('h2', {}, 'Experiment'), select, status), body);

  async function load(id) {
    status.textContent = 'computing…';
    const res = await fetch(`/v1/experiments/${encodeURIComponent(id)}/report`);
    const rep = await res.json();
    if (!res.ok) {
      status.textContent = rep.error ?? `HTTP ${res.status}`;
      body.replaceChildren();
      return;
    }
    status.textContent = `${rep.tier} tier · ${rep.elapsed_ms} ms · ${rep.multiple_comparisons.family_size} comparisons (Holm)`;
    body.replaceChildren(srmBanner(rep), ...METRICS.map((m) => metricCard(rep, m)));
    body.dataset.experiment = id;
  }

  async function refresh() {
    const res = await fetch('/v1/experiments');
    const data = await res.json();
    if (!res.ok) {
      status.textContent = data.error ?? `HTTP ${res.status}`;
      return;
    }
    const keep = select.value;
    select.replaceChildren(...data.experiments.map((e) => el('option', { value: e.id }, `${e.id} (${e.variants.join(' / ')})`)));
    if (data.experiments.length === 0) {
      status.textContent = 'no experiment in the hot tier yet';
      return;
    }
    if (keep && data.experiments.some((e) => e.id === keep)) select.value = keep;
    await load(select.value);
  }

  select.addEventListener('change', () => load(select.value));
  return { show: () => { refresh().catch((err) => { status.textContent = String(err); }); } };
}
