"""The dashboard's single page: HTML and vanilla JavaScript, no build step, no CDN.

Every name from the storage (studies, parameters, reasons) reaches the page as JSON and is put
in the DOM with ``textContent``: never parsed as HTML.
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>hyperknob dashboard</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0; display: flex; height: 100vh; }
nav { width: 260px; border-right: 1px solid #ddd; overflow-y: auto; padding: 8px; }
nav button { display: block; width: 100%; text-align: left; margin: 2px 0; padding: 6px;
             border: 1px solid #eee; background: #fafafa; cursor: pointer; }
nav button.active { background: #e3eefc; border-color: #9bbbe8; }
main { flex: 1; overflow-y: auto; padding: 12px 20px; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border-bottom: 1px solid #eee; padding: 3px 8px; text-align: left; }
.COMPLETE { color: #2a7a2a; } .PRUNED { color: #b26b00; } .FAIL { color: #b00020; }
.RUNNING { color: #1f5fbf; } .WAITING { color: #777; }
#history { height: 340px; }
small { color: #666; }
</style>
</head>
<body>
<nav><h3>Studies</h3><div id="studies"></div></nav>
<main>
<h2 id="title">Pick a study</h2>
<p id="counts"></p>
<p id="best"></p>
<div id="history"></div>
<h3>Trials <small id="page-info"></small></h3>
<p><button id="prev">newer</button> <button id="next">older</button></p>
<table><thead><tr><th>#</th><th>state</th><th>value</th><th>params</th><th>why</th></tr>
</thead><tbody id="trials"></tbody></table>
</main>
<script src="assets/plotly.min.js"></script>
<script>
"use strict";
const token = new URLSearchParams(location.search).get("token");
const PAGE_SIZE = 50;
let current = null, offset = 0, source = null;

function api(path) {
  const sep = path.includes("?") ? "&" : "?";
  return fetch(token ? `${path}${sep}token=${encodeURIComponent(token)}` : path)
    .then(r => { if (!r.ok) throw new Error(r.status); return r.json(); });
}
function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}
function fmt(v) { return v === null || v === undefined ? "-" : Number(v).toPrecision(6); }

function loadStudies() {
  return api("api/studies").then(list => {
    const box = document.getElementById("studies");
    box.replaceChildren();
    for (const s of list) {
      const b = el("button", `${s.name} (${s.n_trials})`, s.name === current ? "active" : "");
      b.dataset.study = s.name;
      b.onclick = () => select(s.name);
      box.appendChild(b);
    }
    if (current === null && list.length) select(list[0].name);
  });
}

function select(name) {
  current = name; offset = 0;
  for (const b of document.querySelectorAll("#studies button"))
    b.className = b.dataset.study === name ? "active" : "";
  refresh();
  if (source) source.close();
  const q = `study=${encodeURIComponent(name)}` +
    (token ? `&token=${encodeURIComponent(token)}` : "");
  source = new EventSource(`api/events?${q}`);
  source.onmessage = () => { refresh(); loadStudies(); };
}

function refresh() {
  const name = current;
  if (name === null) return;
  api(`api/summary?study=${encodeURIComponent(name)}`).then(s => {
    if (name !== current) return;
    document.getElementById("title").textContent = `${s.name} (${s.direction})`;
    const counts = Object.entries(s.states).map(([k, v]) => `${k} ${v}`).join(", ");
    document.getElementById("counts").textContent = `${s.n_trials} trials: ${counts}`;
    document.getElementById("counts").dataset.version = s.version;
    if (s.pareto) {  // several objectives: the front instead of a best trial and a history
      const names = s.metric_names || s.direction.split(", ").map((_, k) => `objective ${k}`);
      document.getElementById("best").textContent =
        `Pareto front: ${s.pareto.number.length} trials (${names.join(" vs ")})`;
      if (window.Plotly) {
        Plotly.react("history", [{x: s.pareto.values.map(v => v[0]),
          y: s.pareto.values.map(v => v[1]), text: s.pareto.number.map(n => `trial #${n}`),
          mode: "markers", type: "scatter", name: "Pareto front"}],
          {title: {text: "Pareto front"}, margin: {t: 40},
           xaxis: {title: {text: names[0]}}, yaxis: {title: {text: names[1]}}});
      }
      return;
    }
    document.getElementById("best").textContent = s.best === null ? "no COMPLETE trial yet" :
      `best: trial #${s.best.number}, value ${fmt(s.best.value)}`;
    const h = s.history;
    const note = h.downsampled ? ` (${h.number.length} of ${h.n_points} points)` : "";
    if (window.Plotly) {
      Plotly.react("history", [
        {x: h.number, y: h.value, mode: "markers", type: "scattergl", name: "value"},
        {x: h.number, y: h.best, mode: "lines", type: "scatter", name: "best so far"}],
        {title: {text: "Optimization history" + note}, margin: {t: 40},
         xaxis: {title: {text: "trial"}}, yaxis: {title: {text: "value"}}});
    }
  });
  api(`api/trials?study=${encodeURIComponent(name)}&offset=${offset}&limit=${PAGE_SIZE}`)
    .then(p => {
      if (name !== current) return;
      const body = document.getElementById("trials");
      body.replaceChildren();
      for (const t of p.trials) {
        const row = el("tr");
        row.appendChild(el("td", t.number));
        row.appendChild(el("td", t.state, t.state));
        row.appendChild(el("td", t.values && t.values.length > 1
          ? t.values.map(fmt).join(", ") : fmt(t.value)));
        row.appendChild(el("td", JSON.stringify(t.params)));
        row.appendChild(el("td", t.reason || ""));
        body.appendChild(row);
      }
      const last = Math.min(p.offset + p.limit, p.total);
      document.getElementById("page-info").textContent =
        `${p.total ? p.offset + 1 : 0}-${last} of ${p.total}, newest first`;
    });
}

document.getElementById("prev").onclick = () => {
  offset = Math.max(0, offset - PAGE_SIZE); refresh();
};
document.getElementById("next").onclick = () => { offset += PAGE_SIZE; refresh(); };
loadStudies();
</script>
</body>
</html>
"""
