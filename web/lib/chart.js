// TimeChart: a uPlot line chart of one series over event time, themed for
// the dark dashboard, that resizes with its container and keeps a sliding
// window of the last `rangeSec` seconds.

import uPlot from '/vendor/uplot/uPlot.esm.js';
import { formatCompact, formatInt } from './format.js';

const AXIS = '#8b98a9';
const GRID = 'rgba(139, 152, 169, 0.12)';

function utcDate(ts) {
  return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC');
}

// "14:05" on minute ticks, "14:05:30" when ticks are seconds apart (UTC).
function timeLabel(sec, incr) {
  const iso = new Date(sec * 1000).toISOString();
  return incr < 60 ? iso.slice(11, 19) : iso.slice(11, 16);
}

export class TimeChart {
  /**
   * @param {HTMLElement} el      container (its size drives the chart's)
   * @param {object} opts         { label, color, rangeSec }
   */
  constructor(el, { label, color, rangeSec = 900 }) {
    this.el = el;
    this.rangeSec = rangeSec;
    this.xs = [];
    this.ys = [];
    const fill = (u) => {
      const g = u.ctx.createLinearGradient(0, u.bbox.top, 0, u.bbox.top + u.bbox.height);
      g.addColorStop(0, `${color}55`);
      g.addColorStop(1, `${color}00`);
      return g;
    };
    const axis = {
      stroke: AXIS,
      grid: { stroke: GRID, width: 1 },
      ticks: { stroke: GRID, width: 1 },
      font: '11px system-ui, sans-serif',
    };
    this.plot = new uPlot({
      width: Math.max(el.clientWidth, 200),
      height: Math.max(el.clientHeight, 120),
      tzDate: utcDate,
      legend: { show: false },
      cursor: { points: { size: 7, fill: color }, y: false },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(10, max * 1.12)] } },
      series: [
        {},
        { label, stroke: color, width: 2, fill, points: { show: false }, value: (u, v) => formatInt(v) },
      ],
      axes: [
        { ...axis, space: 70, values: (u, splits, ax, space, incr) => splits.map((v) => timeLabel(v, incr)) },
        { ...axis, size: 56, values: (u, splits) => splits.map(formatCompact) },
      ],
      hooks: { setCursor: [(u) => this.showTip(u)] },
    }, [[], []], el);
    this.tip = document.createElement('div');
    this.tip.className = 'chart-tip';
    this.plot.over.appendChild(this.tip);
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(el);
  }

  showTip(u) {
    const i = u.cursor.idx;
    const [xs, ys] = u.data;
    if (i == null || ys[i] == null) {
      this.tip.style.display = 'none';
      return;
    }
    const x = u.valToPos(xs[i], 'x');
    const y = u.valToPos(ys[i], 'y');
    this.tip.textContent = '';
    const v = document.createElement('b');
    v.textContent = formatInt(ys[i]);
    const t = document.createElement('span');
    t.textContent = new Date(xs[i] * 1000).toISOString().slice(11, 19);
    this.tip.append(v, t);
    this.tip.style.display = 'block';
    const left = Math.min(x + 12, u.over.clientWidth - 110);
    this.tip.style.transform = `translate(${left}px, ${Math.max(y - 44, 0)}px)`;
  }

  resize() {
    const w = this.el.clientWidth;
    const h = this.el.clientHeight;
    if (w > 0 && h > 0) this.plot.setSize({ width: w, height: h });
  }

  /** Replaces the data with [[ms, value], ...] (sorted by time). */
  setPoints(points) {
    this.xs = points.map((p) => p[0] / 1000);
    this.ys = points.map((p) => p[1]);
    this.redraw();
  }

  /**
   * Merges [[ms, value], ...] into the data: values for seconds already
   * shown are replaced (the ops path revises recent seconds), others added.
   */
  merge(points) {
    if (!points.length) return;
    const byX = new Map(this.xs.map((x, i) => [x, this.ys[i]]));
    for (const [ms, v] of points) byX.set(ms / 1000, v);
    this.xs = [...byX.keys()].sort((a, b) => a - b);
    this.ys = this.xs.map((x) => byX.get(x));
    this.trim();
    this.redraw();
  }

  /** Appends (or, for the same second, replaces) one point. */
  push(ms, value) {
    const x = ms / 1000;
    const n = this.xs.length;
    if (n && x < this.xs[n - 1]) return;  // older than what is shown
    if (n && x === this.xs[n - 1]) this.ys[n - 1] = value;
    else {
      this.xs.push(x);
      this.ys.push(value);
    }
    this.trim();
    this.redraw();
  }

  // Keeps an hour (the longest range) plus a margin.
  trim() {
    const n = this.xs.length;
    if (!n) return;
    const keepFrom = this.xs[n - 1] - 3700;
    let drop = 0;
    while (drop < n && this.xs[drop] < keepFrom) drop++;
    if (drop) {
      this.xs.splice(0, drop);
      this.ys.splice(0, drop);
    }
  }

  setRange(sec) {
    this.rangeSec = sec;
    this.redraw();
  }

  redraw() {
    const n = this.xs.length;
    // Only the points inside the window, so the y scale fits what is shown.
    const to = n ? this.xs[n - 1] : Date.now() / 1000;
    let from = to - this.rangeSec;
    // Zeros before the first viewer say nothing: start the window shortly
    // before it (at least a minute wide) so a fresh run fills the chart.
    const first = this.ys.findIndex((y) => y > 0);
    if (first > 0) from = Math.max(from, Math.min(this.xs[first] - this.rangeSec / 20, to - 60));
    let i = 0;
    while (i < n && this.xs[i] < from) i++;
    this.plot.setData([this.xs.slice(i), this.ys.slice(i)], false);
    this.plot.setScale('x', { min: from, max: to });
  }

  /** The largest value in the last `sec` seconds and its time (ms). */
  peak(sec) {
    const n = this.xs.length;
    if (!n) return null;
    const from = this.xs[n - 1] - sec;
    let best = -1;
    for (let i = n - 1; i >= 0 && this.xs[i] >= from; i--) {
      if (best < 0 || this.ys[i] > this.ys[best]) best = i;
    }
    return best < 0 ? null : { ms: this.xs[best] * 1000, value: this.ys[best] };
  }

  /** The value closest to `sec` seconds before the newest point. */
  valueAgo(sec) {
    const n = this.xs.length;
    if (!n) return null;
    const target = this.xs[n - 1] - sec;
    if (this.xs[0] > target) return null;
    let i = n - 1;
    while (i > 0 && this.xs[i] > target) i--;
    return this.ys[i];
  }
}
