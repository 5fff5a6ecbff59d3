// dashboard.js — draws ../grafana/taskd-dashboard.json's panels from Prometheus's HTTP API with
// uPlot: the same queries as the Grafana dashboard, one source of truth for both. Stat panels
// ask an instant query; time series ask a range over the last ?minutes= (15) at a step that
// gives about 200 points. When every panel is drawn, <body data-ready="N"> says so (what
// make test-dashboard-ui waits for); a panel that fails shows why, in red.
import uPlot from './uPlot.esm.js';

const params = new URLSearchParams(location.search);
const prometheus = (params.get('prometheus') || 'http://127.0.0.1:9090').replace(/\/$/, '');
const minutes = Number(params.get('minutes') || 15);
const COLORS = ['#73bf69', '#f2cc0c', '#5794f2', '#ff780a', '#b877d9', '#f2495c', '#8ab8ff'];

async function api(path, query) {
  const res = await fetch(`${prometheus}/api/v1/${path}?${new URLSearchParams(query)}`);
  const body = await res.json();
  if (body.status !== 'success') throw new Error(body.error || `HTTP ${res.status}`);
  return body.data.result;
}

// "{{route}} {{state}}" with the series' labels.
function legend(format, metric) {
  return (format || '').replace(/\{\{\s*(\w+)\s*\}\}/g, (_, k) => metric[k] ?? '') ||
    JSON.stringify(metric);
}

function format(unit, v) {
  if (v === null || Number.isNaN(v)) return 'no data';
  switch (unit) {
    case 'percentunit': return `${(v * 100).toFixed(2)}%`;
    case 's': return v < 1 ? `${(v * 1000).toFixed(1)} ms` : `${v.toFixed(2)} s`;
    case 'reqps': return `${v.toFixed(1)}/s`;
    case 'bytes': return `${(v / 1048576).toFixed(1)} MiB`;
    default: return Number.isInteger(v) ? String(v) : v.toFixed(2);
  }
}

function box(panel) {
  const el = document.createElement('section');
  el.className = 'panel';
  const g = panel.gridPos;
  el.style.gridColumn = `${g.x + 1} / span ${g.w}`;
  el.style.gridRow = `${g.y + 1} / span ${g.h}`;
  el.innerHTML = '<h2></h2><div class="body"></div>';
  el.querySelector('h2').textContent = panel.title;
  el.title = panel.description || '';
  document.getElementById('grid').append(el);
  return el.querySelector('.body');
}

async function stat(panel, body) {
  const unit = panel.fieldConfig?.defaults?.unit;
  const values = [];
  for (const t of panel.targets)
    for (const s of await api('query', { query: t.expr })) values.push(Number(s.value[1]));
  body.className += ' stat';
  body.textContent = values.length ? values.map((v) => format(unit, v)).join(' · ') : 'no data';
}

async function timeseries(panel, body) {
  const end = Math.floor(Date.now() / 1000);
  const start = end - minutes * 60;
  const step = Math.max(1, Math.floor((end - start) / 200));
  const times = [];
  for (let t = start; t <= end; t += step) times.push(t);
  const series = [{}];
  const data = [times];
  for (const t of panel.targets) {
    const result = await api('query_range', { query: t.expr, start, end, step });
    for (const s of result) {
      // NaN (a quantile over no requests) and ±Inf are gaps: uPlot draws nothing of a series
      // whose scale they reach.
      const byTime = new Map(s.values.map(([ts, v]) => [Math.round(ts), Number.isFinite(Number(v)) ? Number(v) : null]));
      data.push(times.map((ts) => (byTime.has(ts) ? byTime.get(ts) : null)));
      series.push({ label: legend(t.legendFormat, s.metric), stroke: COLORS[(series.length - 1) % COLORS.length],
                    value: (u, v) => format(panel.fieldConfig?.defaults?.unit, v) });
    }
  }
  if (data.length === 1) { body.textContent = 'no data'; return; }
  const rect = body.getBoundingClientRect();
  new uPlot({ width: Math.max(200, rect.width), height: Math.max(80, rect.height - 40), series,
              axes: [{ stroke: '#8e8e8e' }, { stroke: '#8e8e8e', size: 70,
                       values: (u, ticks) => ticks.map((v) => format(panel.fieldConfig?.defaults?.unit, v)) }],
              scales: { x: { time: true } }, legend: { live: false } }, data, body);
}

const dash = await (await fetch('taskd-dashboard.json')).json();
document.title = dash.title;
document.getElementById('title').textContent = dash.title;
document.getElementById('source').textContent = `${prometheus}, last ${minutes} min`;
let failed = 0;
await Promise.all(dash.panels.map(async (panel) => {
  const body = box(panel);
  try {
    await (panel.type === 'stat' ? stat(panel, body) : timeseries(panel, body));
  } catch (e) {
    failed++;
    body.className += ' error';
    body.textContent = `${e.message}`;
  }
}));
document.body.dataset.ready = String(dash.panels.length);
document.body.dataset.failed = String(failed);
