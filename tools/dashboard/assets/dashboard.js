// The dashboard page: polls /api/state every second and redraws. Charts are Chart.js; tables are plain DOM,
// the workers' one sorted, filtered and cut to the first rows shown so thousands of workers stay cheap.
"use strict";

const POLL_MS = 1000;
const MAX_WORKER_ROWS = 500;
const COLORS = ["#1d4ed8", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d", "#4b5563"];
let workerSort = { key: "id", reverse: false };
let lastState = null;
let updates = 0;

const $ = (id) => document.getElementById(id);
const text = (value) => (value === undefined || value === null ? "" : String(value));
const esc = (value) => text(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const clock = (ms) => new Date(ms).toLocaleTimeString();
const fixed = (x, digits) => (typeof x === "number" ? x.toFixed(digits) : "");

function lineChart(canvas, datasets, yAxes) {
  return new Chart(canvas, {
    type: "line",
    data: { labels: [], datasets: datasets.map((d, i) => ({ borderColor: COLORS[i % COLORS.length], backgroundColor: COLORS[i % COLORS.length], pointRadius: 0, borderWidth: 1.5, tension: 0.2, data: [], ...d })) },
    options: { animation: false, responsive: true, maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
               scales: Object.assign({ x: { ticks: { maxTicksLimit: 6 } } }, yAxes || { y: { beginAtZero: true } }) },
  });
}

const charts = {
  throughput: lineChart($("throughput-chart"), [{ label: "succeeded" }, { label: "failed" }]),
  backlog: lineChart($("backlog-chart"), [{ label: "queued" }, { label: "running" }, { label: "workers", yAxisID: "y1" }],
                     { y: { beginAtZero: true }, y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } }),
  scheduler: lineChart($("scheduler-chart"), [{ label: "CPU %" }, { label: "memory MiB", yAxisID: "y1" }],
                       { y: { beginAtZero: true }, y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } }),
  demand: lineChart($("demand-chart"), []),
  stream: new Chart($("stream-chart"), {
    type: "bar",
    data: { labels: [], datasets: [] },
    options: { indexAxis: "y", animation: false, responsive: true, maintainAspectRatio: false,
               plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: (c) => c.raw.label } } },
               scales: { x: { type: "linear", ticks: { callback: (v) => clock(v), maxTicksLimit: 8 } }, y: { stacked: true } } },
  }),
};

function setSeries(chart, labels, columns) {
  chart.data.labels = labels;
  columns.forEach((values, i) => { chart.data.datasets[i].data = values; });
  chart.update();
}

function ofLimit(used, limit) {
  return limit ? `${used || 0} of ${limit}` : `${used || 0} (no limit)`;
}

function drawOverview(s) {
  const t = s.tasks || {};
  const a = s.admission || {};
  const series = s.series || { t: [] };
  const last = series.t.length - 1;
  const cards = [
    ["queued", t.queued], ["running", t.running], ["succeeded", t.succeeded],
    ["failed", (t.failed || 0) + (t.worker_died || 0) + (t.timed_out || 0) + (t.rejected || 0)],
    ["tasks/s", last >= 0 ? Math.round(series.succeeded_per_s[last]) : 0], ["workers", (s.workers || []).length],
    ["clients", s.clients], ["latency p50 ≤", fixed(s.latency_seconds && s.latency_seconds.p50, 4) + " s"],
    ["latency p99 ≤", fixed(s.latency_seconds && s.latency_seconds.p99, 4) + " s"],
    ["scheduler CPU", fixed((s.scheduler || {}).cpu_permille / 10, 1) + " %"],
    ["scheduler memory", fixed(((s.scheduler || {}).rss_bytes || 0) / 1048576, 1) + " MiB"],
    ["objects", s.objects ? s.objects.count : 0],
    // against --max-queued-tasks, and what each client may have before its submits wait
    ["unfinished tasks", ofLimit(a.unfinished_tasks, a.max_queued_tasks)],
    ["client share", a.client_task_share ? `${a.client_task_share} tasks` : "no limit"],
  ];
  $("cards").innerHTML = cards.map(([k, v]) => `<div class="card">${esc(k)}<b>${esc(v)}</b></div>`).join("");
  const labels = series.t.map(clock);
  setSeries(charts.throughput, labels, [series.succeeded_per_s, series.failed_per_s]);
  setSeries(charts.backlog, labels, [series.queued, series.running, series.workers]);
  setSeries(charts.scheduler, labels, [series.scheduler_cpu, series.scheduler_rss_mib]);
  const canvas = $("throughput-chart");
  canvas.dataset.points = String(series.t.length);
  canvas.dataset.lastT = String(series.t[last] || 0);
}

function drawStream(s) {
  const entries = s.task_stream || [];
  $("task-stream-count").textContent = String(entries.length);
  $("task-stream-skipped").textContent = String(s.task_stream_skipped || 0);
  const workers = [...new Set(entries.map((e) => e.worker_id))].sort();
  const functions = [...new Set(entries.map((e) => e.function))].sort();
  charts.stream.data.labels = workers;
  // the timeline spans the sampled tasks, not the epoch
  charts.stream.options.scales.x.min = entries.length ? Math.min(...entries.map((e) => e.start_ms)) : undefined;
  charts.stream.options.scales.x.max = entries.length ? Math.max(...entries.map((e) => e.end_ms)) : undefined;
  charts.stream.data.datasets = functions.map((f, i) => ({
    label: f, backgroundColor: COLORS[i % COLORS.length], borderColor: "#ffffff", borderWidth: { left: 1 },
    borderSkipped: false, barThickness: 10, minBarLength: 2,
    data: entries.filter((e) => e.function === f).map((e) => ({
      x: [e.start_ms, Math.max(e.end_ms, e.start_ms + 1)], y: e.worker_id,
      label: `${e.function} on ${e.worker_id}: ${e.status}, ${e.end_ms - e.start_ms} ms, ended ${clock(e.end_ms)}`,
    })),
  }));
  charts.stream.update();
}

function spark(values) {
  if (!values || values.length < 2) return "";
  const max = Math.max(1, ...values);
  const step = 80 / (values.length - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(17 - (v / max) * 16).toFixed(1)}`).join(" ");
  return `<svg class="spark" viewBox="0 0 80 18"><polyline fill="none" stroke="#1d4ed8" stroke-width="1" points="${points}"/></svg>`;
}

function drawWorkers(s) {
  const all = s.workers || [];
  const filter = $("worker-filter").value.trim().toLowerCase();
  const keys = ["id", "hostname", "capabilities", "worker_group_id", "adapter_id", "current_function"];
  const shown = filter ? all.filter((w) => keys.some((k) => text(w[k]).toLowerCase().includes(filter))) : all.slice();
  const { key, reverse } = workerSort;
  shown.sort((a, b) => {
    const x = a[key], y = b[key];
    const order = typeof x === "number" && typeof y === "number" ? x - y : text(x).localeCompare(text(y));
    return reverse ? -order : order;
  });
  $("worker-count").textContent = String(all.length);
  $("worker-shown").textContent = shown.length > MAX_WORKER_ROWS ? `showing the first ${MAX_WORKER_ROWS} of ${shown.length}` : "";
  $("worker-table").querySelector("tbody").innerHTML = shown.slice(0, MAX_WORKER_ROWS).map((w) => `<tr data-worker-id="${esc(w.id)}">
    <td>${esc(w.id)}</td><td>${esc(w.hostname)}</td><td>${esc(w.capabilities)}</td><td>${esc(w.adapter_id)}</td>
    <td>${esc(w.worker_group_id)}</td><td class="num">${esc(w.queued)}</td><td class="num">${esc(w.running)}</td>
    <td class="num">${esc(w.done)}</td><td class="num">${fixed(w.cpu_permille / 10, 1)}</td><td>${spark(w.cpu_history)}</td>
    <td class="num"${w.memory_full ? ' title="near its memory limit: no new tasks"' : ""}>${w.memory_full ? "⚠ " : ""}${fixed(w.rss_bytes / 1048576, 1)}${w.memory_limit_bytes ? " / " + fixed(w.memory_limit_bytes / 1048576, 0) : ""}</td><td>${spark(w.rss_mib_history)}</td>
    <td>${esc(w.current_function)}</td><td class="num">${fixed(w.last_heartbeat_age_ms / 1000, 1)}</td></tr>`).join("");
  document.querySelectorAll("#worker-table th[data-key]").forEach((th) => {
    th.classList.toggle("sorted", th.dataset.key === key);
    th.classList.toggle("reverse", th.dataset.key === key && reverse);
  });
}

function rows(tableId, items, cells) {
  $(tableId).querySelector("tbody").innerHTML = items.map((item) => `<tr>${cells(item).map((c, i) => `<td${typeof c === "number" ? ' class="num"' : ""}>${esc(c)}</td>`).join("")}</tr>`).join("");
}

function drawScaling(s) {
  $("policies").textContent = `allocate=${s.allocate_policy}; scaling=${s.scaling_policy}`;
  rows("adapter-table", s.adapters || [], (a) => [a.id, a.kind, a.priority, a.capabilities, `${a.groups_in_use} of ${a.max_worker_groups}`, a.startup_ms ? fixed(a.startup_ms / 1000, 2) : "-", a.billing, fixed(a.cost_so_far, 4), fixed(a.cost_per_hour, 4)]);
  rows("group-table", s.worker_groups || [], (g) => [g.id, g.adapter_id, g.state, g.capabilities, (g.worker_ids || []).length, Math.round(g.age_ms / 1000)]);
  rows("demand-table", s.demand || [], (d) => [d.capabilities || "{}", d.tasks, d.queued, Number(fixed(d.arrival_rate, 1)), Number(fixed(d.mean_duration_seconds, 3)), Number(fixed(d.supply_workers, 1)), Number(fixed(d.desired_workers, 1)), d.basis]);
  $("held").innerHTML = (s.held_scaling || []).map((h) => `<li><span class="action">${esc(h.action)}</span> on ${esc(h.adapter_id)}: wanted because ${esc(h.wanted_because)}; held by <span class="rule">${esc(h.held_because)}</span></li>`).join("") || "<li>nothing</li>";
  $("unschedulable").innerHTML = (s.unschedulable || []).map((c) => `<li>{${esc(c)}}</li>`).join("") || "<li>none</li>";
  const events = (s.scaling_events || []).slice().reverse();
  $("scaling-events").innerHTML = events.map((e) => `<li data-action="${esc(e.action)}">${esc(clock(e.timestamp_ms))} <span class="action">${esc(e.action)}</span> ${esc(e.adapter_id)} ${esc(e.worker_group_id)}: ${esc(e.reason)}</li>`).join("");
  const sets = Object.keys(s.demand_series || {}).sort();
  const first = sets.length ? s.demand_series[sets[0]].t : [];
  charts.demand.data.labels = first.map(clock);
  charts.demand.data.datasets = sets.flatMap((caps, i) => [
    { label: `${caps} tasks`, data: s.demand_series[caps].tasks, borderColor: COLORS[(2 * i) % COLORS.length], pointRadius: 0, borderWidth: 1.5 },
    { label: `${caps} supply`, data: s.demand_series[caps].supply, borderColor: COLORS[(2 * i + 1) % COLORS.length], pointRadius: 0, borderWidth: 1.5, borderDash: [4, 3] },
  ]);
  charts.demand.update();
}

function drawClients(s) {
  const clients = s.client_list || [];
  $("client-count").textContent = String(clients.length);
  rows("client-table", clients, (c) => [c.id, c.tasks]);
}

function draw(s) {
  if (!s.tasks) return;
  $("scheduler").textContent = `${s.scheduler_address} · up ${Math.round((s.uptime_ms || 0) / 1000)} s · incarnation ${Number(s.incarnation || 0).toString(16)}`;
  const age = (Date.now() - (s.timestamp_ms || 0)) / 1000;
  $("status").textContent = age > 5 ? `no snapshot for ${Math.round(age)} s` : `live, ${clock(s.timestamp_ms)}`;
  $("status").classList.toggle("stale", age > 5);
  drawOverview(s);
  drawStream(s);
  drawWorkers(s);
  drawScaling(s);
  drawClients(s);
}

async function poll() {
  try {
    const response = await fetch("/api/state", { cache: "no-store" });
    if (response.ok) {
      lastState = await response.json();
      draw(lastState);
      document.body.dataset.updates = String(++updates);
    } else {
      $("status").textContent = `dashboard answered ${response.status}`;
    }
  } catch (error) {
    $("status").textContent = "the dashboard process is not answering";
    $("status").classList.add("stale");
  }
  setTimeout(poll, POLL_MS);
}

document.querySelectorAll("#worker-table th[data-key]").forEach((th) => th.addEventListener("click", () => {
  workerSort = { key: th.dataset.key, reverse: workerSort.key === th.dataset.key ? !workerSort.reverse : false };
  if (lastState) drawWorkers(lastState);
}));
$("worker-filter").addEventListener("input", () => { if (lastState) drawWorkers(lastState); });
poll();
