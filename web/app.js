// The dashboard shell: tabs in the top bar, one page per tab, chosen by the
// URL hash (#/ops, #/sre, #/experiments). A page module exports a mount
// function, called once at load (so the live stream and the header's
// status run whatever tab is open), that returns { show() }, called every
// time its tab comes into view. Tabs whose page has no module yet show
// their placeholder section.

import './lib/auth.js';
import { mountOps } from './ops.js';
import { mountSre } from './sre.js';
import { mountExperiments } from './experiments.js';
import { mountBatch } from './batch.js';

const PAGES = {
  ops: mountOps,
  sre: mountSre,
  experiments: mountExperiments,
  content: mountBatch,  // weekly title stats + batch runs (web/batch.js)
};
const DEFAULT_PAGE = 'ops';
const mounted = new Map();

function route() {
  const name = location.hash.replace(/^#\/?/, '') || DEFAULT_PAGE;
  const page = document.querySelector(`.page[data-page="${CSS.escape(name)}"]`) ? name : DEFAULT_PAGE;
  for (const section of document.querySelectorAll('.page')) {
    section.hidden = section.dataset.page !== page;
  }
  for (const tab of document.querySelectorAll('.tab')) {
    const on = tab.dataset.page === page;
    tab.classList.toggle('on', on);
    if (on) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
  mounted.get(page)?.show?.();
}

for (const tab of document.querySelectorAll('.tab')) {
  if (!PAGES[tab.dataset.page]) tab.classList.add('tab-soon');
}
for (const [name, mount] of Object.entries(PAGES)) mounted.set(name, mount());
window.addEventListener('hashchange', route);
route();
