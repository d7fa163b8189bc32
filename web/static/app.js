// iTradingBot dashboard: fetches the JSON API and renders it. Every string from the server is set with
// textContent (never innerHTML), so a symbol or note such as <script> shows as text.
"use strict";
(function () {
  const main = document.getElementById("main");
  const liveDot = document.getElementById("live");
  const state = { page: "overview", arg: "", tz: "UTC", quote: "USDT", charts: [], updates: 0, unit: "quote" };
  document.body.dataset.updates = "0";

  // ---- small helpers ---------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c != null) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const num = (v) => (v === null || v === undefined || v === "" ? null : Number(v));
  const grouped = (v, digits) => v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  function money(v, sign) {
    v = num(v); if (v === null) return "—";
    if (v === 0) return "0.00";
    const text = grouped(Math.abs(v) >= 1000 ? Math.round(v * 100) / 100 : v, Math.abs(v) >= 1 ? 2 : 6);
    return (sign && v > 0 ? "+" : "") + text;
  }
  function pct(v, sign) { v = num(v); return v === null ? "—" : (sign && v > 0 ? "+" : "") + grouped(v, 2) + " %"; }
  function qty(v) { v = num(v); return v === null ? "—" : v.toLocaleString("en-US", { maximumFractionDigits: 8 }); }
  function when(t) {
    if (t === null || t === undefined) return "—";
    return new Intl.DateTimeFormat("en-GB", { timeZone: state.tz, year: "numeric", month: "short", day: "2-digit",
                                              hour: "2-digit", minute: "2-digit" }).format(new Date(t * 1000));
  }
  const span = (days) => (days >= 2 ? `${grouped(days, 1)} days` : `${grouped(days * 24, 1)} h`);
  const signClass = (v) => (num(v) > 0 ? "gain" : num(v) < 0 ? "loss" : "");
  function kpi(label, value, sub, cls) {
    return el("div", { class: "kpi" }, el("div", { class: "label", text: label }),
              el("div", { class: "value " + (cls || ""), text: value }), sub ? el("div", { class: "sub", text: sub }) : null);
  }
  function card(title, ...children) { return el("section", { class: "card" }, title ? el("h2", { text: title }) : null, ...children); }

  // ---- tables (the same tables the CSV download writes) --------------------------------
  const NUMERIC = new Set(["money", "qty", "pct", "int", "ms", "num"]);
  function cell(value, kind) {
    if (value === null || value === undefined || value === "") return "—";
    switch (kind) {
      case "money": return money(value);
      case "qty": return qty(value);
      case "pct": return pct(value);
      case "time": return when(value);
      case "ms": return grouped(Number(value), 0);
      case "num": return grouped(Number(value), 2);
      case "bool": return value ? "yes" : "no";
      default: return String(value);
    }
  }
  function table(page, name, data, opts) {
    opts = opts || {};
    const limit = opts.limit || 50;
    const head = el("tr", {}, ...data.columns.map((c) => el("th", { class: NUMERIC.has(c.kind) ? "num" : "", text: c.name })));
    const body = el("tbody");
    function fill(n) {
      body.replaceChildren(...data.rows.slice(0, n).map((row) => {
        const tr = el("tr", {}, ...row.map((v, i) => {
          const kind = data.columns[i].kind;
          const cls = (NUMERIC.has(kind) ? "num " : "") + (kind === "money" && opts.signed && opts.signed.includes(i) ? signClass(v) : "") +
                      (kind === "text" && String(v || "").length > 40 ? " wrap" : "");
          return el("td", { class: cls, text: cell(v, kind) });
        }));
        if (opts.rowClass) tr.className = opts.rowClass(row);
        if (opts.href) { tr.classList.add("link"); tr.addEventListener("click", () => { location.hash = opts.href(row); }); }
        return tr;
      }));
    }
    fill(limit);
    const query = opts.query ? "?" + new URLSearchParams(opts.query).toString() : "";
    const link = el("a", { class: "csv", href: `/api/${page}/${name}.csv${query}`, download: `${page}-${name}.csv`, text: "CSV" });
    const more = data.rows.length > limit
      ? el("div", { class: "more" }, el("button", { type: "button", text: `Show all ${data.rows.length} rows`,
                                                    onclick: (e) => { fill(data.rows.length); e.target.remove(); } }))
      : null;
    return el("div", { class: "table-block", "data-table": name },
              el("div", { class: "row" }, el("span", { class: "muted", text: `${data.rows.length} rows` }), link),
              el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, head), body)), more);
  }

  // ---- charts (uPlot) --------------------------------------------------------------------
  function axes(yFormat) {
    const stroke = css("--muted"), grid = { stroke: css("--grid"), width: 1 };
    return [{ stroke, grid, ticks: grid }, { stroke, grid, ticks: grid, size: 64, values: (u, vals) => vals.map(yFormat) }];
  }
  function chart(container, opts, data) {
    const width = Math.max(260, container.clientWidth || main.clientWidth - 40);
    const plot = new uPlot(Object.assign({ width, height: opts.height || (width < 600 ? 220 : 300),
                                           legend: { live: width >= 600 },
                                           tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), state.tz) }, opts), data, container);
    state.charts.push({ plot, container });
    return plot;
  }
  window.addEventListener("resize", () => {
    for (const c of state.charts) c.plot.setSize({ width: Math.max(260, c.container.clientWidth), height: c.plot.height });
  });
  function markers(changes) {  // parameter changes as dashed vertical lines on the equity chart
    return { hooks: { draw: [(u) => {
      const ctx = u.ctx; ctx.save(); ctx.strokeStyle = css("--muted"); ctx.setLineDash([4, 4]); ctx.lineWidth = 1;
      for (const [t] of changes) {
        const x = u.valToPos(t, "x", true);
        if (x >= u.bbox.left && x <= u.bbox.left + u.bbox.width) {
          ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
        }
      }
      ctx.restore();
    }] } };
  }

  // ---- pages -------------------------------------------------------------------------------
  async function overview(d) {
    const f = d.figures, q = d.quote;
    const since = (v) => (f.deposits ? (v / f.deposits - 1) * 100 : null);
    const kpis = el("div", { class: "kpis", id: "kpis" },
      kpi("Equity", `${money(f.equity)} ${q}`, `marked ${when(f.marked_at)}`),
      kpi("Net P/L", `${money(f.net, true)} ${q}`, pct(since(f.equity), true) + " since start", signClass(f.net)),
      kpi("Realized", money(f.realized, true), `unrealized ${money(f.unrealized, true)}`, signClass(f.realized)),
      kpi("Fees paid", money(f.fees), `cash ${money(f.cash)}`),
      kpi("Max drawdown", pct(f.max_drawdown * 100), `longest ${span(f.max_drawdown_days)} under water`, "loss"),
      f.sharpe === null
        ? kpi("Sharpe", "n/a", `annualised ratios need 90 days of marks · vol ${pct(f.volatility * 100)}`)
        : kpi("Sharpe", grouped(f.sharpe, 2), `Sortino ${grouped(f.sortino, 2)} · vol ${pct(f.volatility * 100)}`));
    const unitPills = el("div", { class: "pills" });
    const equityBox = el("div", { class: "chart", id: "equity-chart" });
    const ddBox = el("div", { class: "chart", id: "drawdown-chart" });
    const s = d.status, last = s.last_rebalance;
    const health = s.health.length ? s.health.map((h) => el("li", {},
        el("span", { class: "badge " + (h.reachable === false ? "bad" : "ok"), text: h.reachable === false ? "down" : "up" }),
        ` ${h.name} ${h.host} · weight ${h.weight}/${h.budget}`, h.error ? ` · ${h.error}` : ""))
      : [el("li", { class: "muted", text: s.market ? `Market data: ${s.market} (no remote endpoint to check)`
                                                 : "Market data: not checked (a copy of the database)" })];
    const status = card("Status", el("ul", { class: "status-list" },
      el("li", {}, "Venue: ", el("strong", { text: s.venue })),
      el("li", {}, "Schedule: ", el("span", { class: "badge " + (s.paused ? "bad" : "ok"), text: s.paused ? "paused" : "running" })),
      el("li", { text: "Last rebalance: " + (last ? `${when(last.started)} · ${last.state} · ${last.kind}` : "none yet") }),
      el("li", { text: "Next rebalance: " + (s.next_run ? when(s.next_run) : "—") }), ...health));
    main.replaceChildren(el("h1", { text: "Overview" }), kpis,
      el("div", { class: "grid two" },
        card(null, el("div", { class: "row" }, el("h2", { text: "Equity against the benchmarks" }), unitPills), equityBox),
        status),
      card("Drawdown (under water)", ddBox));
    const e = d.equity;
    function drawEquity() {
      equityBox.replaceChildren();
      const asPct = state.unit === "pct", base = f.deposits || 1;
      const conv = (arr) => arr.map((v) => (v === null ? null : asPct ? (v / base - 1) * 100 : v));
      const fmt = asPct ? (v) => v.toLocaleString("en-US", { maximumFractionDigits: 1 }) + "%" : (v) => grouped(v, 0);
      chart(equityBox, Object.assign({ axes: axes(fmt), series: [{},
        { label: "Portfolio", stroke: css("--accent"), width: 2, value: (u, v) => (v == null ? "—" : fmt(v)) },
        { label: "BTC buy & hold", stroke: css("--btc"), width: 1.5, spanGaps: true, value: (u, v) => (v == null ? "—" : fmt(v)) },
        { label: "Equal-weight universe", stroke: css("--universe"), width: 1.5, spanGaps: true, value: (u, v) => (v == null ? "—" : fmt(v)) }] },
        markers(d.changes)), [e.t, conv(e.equity), conv(e.btc), conv(e.universe)]);
    }
    for (const [unit, label] of [["quote", q], ["pct", "% since start"]]) {
      unitPills.append(el("button", { type: "button", class: state.unit === unit ? "on" : "", text: label,
        onclick: () => { state.unit = unit; [...unitPills.children].forEach((b) => b.classList.toggle("on", b.textContent === label)); drawEquity(); } }));
    }
    drawEquity();
    const pctAxis = (v) => v.toLocaleString("en-US", { maximumFractionDigits: 2 }) + "%";
    chart(ddBox, { height: 160, axes: axes(pctAxis), series: [{},
      { label: "Drawdown", stroke: css("--loss"), fill: css("--loss") + "55", fillTo: () => 0, width: 1.5, value: (u, v) => (v == null ? "—" : grouped(v, 2) + "%") }] },
      [e.t, e.drawdown.map((v) => v * 100)]);
  }

  function holdings(d) {
    const box = el("div", { class: "chart", id: "holdings-chart" });
    main.replaceChildren(el("h1", { text: "Holdings" }),
      el("div", { class: "grid halves" },
        card(`Allocation now · equity ${money(d.equity)} ${d.quote}`,
             table("holdings", "holdings", d.tables.holdings, { signed: [5], rowClass: (r) => (r[6] ? "dust" : "") }),
             el("p", { class: "muted", text: "Dust (worth less than 1 " + d.quote + ") is shown in italics, apart from the positions." })),
        card("Holdings over time (value after each rebalance)", box)));
    const h = d.history;
    if (!h.t.length) { box.append(el("p", { class: "muted", text: "No rebalance yet." })); return; }
    // The coins held now (largest first), every other coin summed, and cash: stacked and stepped, since
    // nothing is interpolated between rebalances.
    const grey = { "": "#D0D0D0", [d.quote]: "#999999" };
    const layers = h.layers.map(([name, values]) => [name === "" ? "others" : name === d.quote ? `${d.quote} cash` : name, values, grey[name]]);
    const palette = ["#0072B2", "#E69F00", "#009E73", "#56B4E9", "#D55E00", "#CC79A7", "#000000", "#F0E442"];
    const stacked = [], running = h.t.map(() => 0);
    for (const [, values] of layers) { values.forEach((v, k) => { running[k] += v; }); stacked.push(running.slice()); }
    const series = [{}], data = [h.t];
    for (let i = layers.length - 1; i >= 0; i--) {  // the tallest first, so every band stays visible
      const colour = layers[i][2] || palette[i % palette.length];
      series.push({ label: layers[i][0], stroke: colour, fill: colour + "cc", width: 1, paths: uPlot.paths.stepped({ align: 1 }),
                    value: (u, v, si, k) => (k == null ? "—" : money(layers[i][1][k])) });
      data.push(stacked[i]);
    }
    chart(box, { axes: axes((v) => grouped(v, 0)), series }, data);
  }

  function rebalances(d) {
    main.replaceChildren(el("h1", { text: "Rebalances" }),
      card("Every slot, newest first (open one for its ranking, orders and fills)",
           table("rebalances", "rebalances", d.tables.rebalances, { signed: [10], href: (r) => `#rebalance/${r[0]}`, limit: 100 })));
  }

  function rebalance(d) {
    const r = d.rebalance, q = d.quote;
    main.replaceChildren(el("p", {}, el("a", { href: "#rebalances", text: "← all rebalances" })),
      el("h1", { text: `Rebalance ${r.slot}` }),
      el("div", { class: "kpis" },
        kpi("State", r.state, `${r.kind} · ${r.mode} · ${r.strategy || ""}`),
        kpi("Started", when(r.started), r.finished ? `finished ${when(r.finished)}` : "not finished"),
        kpi("Sold / bought", `${r.sold} / ${r.bought}`, `turnover ${money(r.turnover)} ${q}`),
        kpi("Fees", money(r.fees), r.delta_fees === null ? "" : `delta mode would have paid ≈ ${money(r.delta_fees)}`),
        kpi("P/L of the period", r.period_pnl === null ? "—" : money(r.period_pnl, true), "to the next rebalance, its fees included", signClass(r.period_pnl)),
        kpi("Signal to fill", r.signal_to_fill_ms === null ? "—" : `${grouped(r.signal_to_fill_ms, 0)} ms`, r.note || "")),
      card("Ranking: each coin's score, volume, and why it was or was not bought",
           table("rebalance", "ranking", d.tables.ranking, { query: { id: r.id }, limit: 60, rowClass: (row) => (row[3] ? "picked" : "") })),
      el("div", { class: "grid halves" },
        card("Orders", table("rebalance", "orders", d.tables.orders, { query: { id: r.id } })),
        card("Fills", table("rebalance", "fills", d.tables.fills, { query: { id: r.id } }))));
  }

  function heatmap(monthly) {
    const grid = el("div", { class: "heat", id: "monthly-heatmap" }, el("div", { class: "head" }),
      ..."JFMAMJJASOND".split("").map((m) => el("div", { class: "head", text: m })));
    const byYear = {};
    for (const m of monthly) (byYear[m.month.slice(0, 4)] = byYear[m.month.slice(0, 4)] || {})[Number(m.month.slice(5, 7))] = m.pct;
    const scale = Math.max(0.01, ...monthly.map((m) => Math.abs(m.pct || 0)));
    for (const year of Object.keys(byYear).sort()) {
      grid.append(el("div", { class: "head", text: year }));
      for (let month = 1; month <= 12; month++) {
        const v = byYear[year][month], c = el("div", { text: v === undefined || v === null ? "" : grouped(v * 100, 1) });
        if (v !== undefined && v !== null) {
          const alpha = Math.round(40 + 215 * Math.min(1, Math.abs(v) / scale)).toString(16).padStart(2, "0");
          c.style.backgroundColor = (v >= 0 ? "#0072B2" : "#D55E00") + alpha;
          c.title = `${year}-${String(month).padStart(2, "0")}: ${pct(v * 100, true)}`;
        }
        grid.append(c);
      }
    }
    return grid;
  }

  function performancePage(d) {
    const pills = el("div", { class: "pills" }, ...["7d", "30d", "90d", "365d", "all"].map((w) =>
      el("button", { type: "button", class: d.window === w ? "on" : "", text: w, onclick: () => { location.hash = `#performance/${w}`; } })));
    const q = { window: d.window };
    main.replaceChildren(el("h1", { text: "Performance" }),
      el("div", { class: "grid halves" },
        card("Monthly returns (%)", heatmap(d.monthly)),
        card(null, el("div", { class: "row" }, el("h2", { text: "P/L per coin" }), pills),
             el("p", { class: "muted", text: d.since ? `since the rebalance of ${when(d.since)}` : "since the start" }),
             table("performance", "coins", d.tables.coins, { signed: [1], query: q, limit: 20 }))),
      el("div", { class: "grid halves" },
        card("Daily", table("performance", "daily", d.tables.daily, { signed: [3], query: q, limit: 14 })),
        card("Weekly", table("performance", "weekly", d.tables.weekly, { signed: [3], query: q, limit: 12 }))),
      card("Monthly", table("performance", "monthly", d.tables.monthly, { signed: [3], query: q, limit: 24 })));
  }

  function parameters(d) {
    main.replaceChildren(el("h1", { text: "Parameters" }),
      el("div", { class: "grid halves" },
        card("Current values (change them in the chat with /set)", table("parameters", "current", d.tables.current)),
        card("Audit trail (who, when, old → new); each change is marked on the equity chart",
             table("parameters", "changes", d.tables.changes, { limit: 100 }))));
  }

  function backtests(d) {
    main.replaceChildren(el("h1", { text: "Backtests" }),
      card("Runs of /backtest and bot.py backtest, newest first (a sweep shows its best run)",
           d.tables.backtests.rows.length ? table("backtests", "backtests", d.tables.backtests, { href: (r) => `#backtest/${r[0]}`, signed: [] })
             : el("p", { class: "muted", text: "None yet: run /backtest in the chat or bot.py backtest." })));
  }

  const DAY = 86400;
  function backtest(d) {
    const b = d.backtest;
    const head = [el("p", {}, el("a", { href: "#backtests", text: "← all backtests" })),
                  el("h1", { text: `Backtest ${b.id}` }), el("p", { text: b.summary }),
                  el("p", { class: "muted", text: `${when(Date.parse(b.time) / 1000)} · ${b.who} · ${b.kind}` })];
    if (d.sweep) { main.replaceChildren(...head, ...sweepView(d)); return; }
    const box = el("div", { class: "chart", id: "backtest-chart" });
    main.replaceChildren(...head, card("Equity against the benchmarks", box),
      card("Figures", table("backtest", "metrics", d.tables.metrics, { query: { id: b.id } })));
    const p = d.paths, t0 = Date.parse(p.first_day + "T00:00:00Z") / 1000;
    const colours = { "BTC buy & hold": css("--btc"), "Equal-weight universe": css("--universe") };
    const series = [{}, { label: "Strategy", stroke: css("--accent"), width: 2 }];
    const data = [p.equity.map((_, i) => t0 + i * DAY), p.equity];
    for (const [name, path] of Object.entries(p.benchmarks)) {
      series.push({ label: name, stroke: colours[name] || css("--grey"), width: 1.5 });
      data.push(path);
    }
    chart(box, { axes: axes((v) => grouped(v, 0)), series }, data);
  }

  function sweepView(d) {
    const s = d.sweep, [kx, ky] = s.keys, others = s.keys.slice(2);
    const metrics = [...new Set([s.sort, "total_return", "sharpe", "max_drawdown", "cagr"])];
    const holder = el("div");
    const pills = el("div", { class: "pills" });
    function draw(metric) {
      [...pills.children].forEach((b) => b.classList.toggle("on", b.textContent === metric));
      const groups = {};
      for (const r of s.rows) (groups[others.map((k) => `${k}=${r.pairs[k]}`).join(" ")] ||= []).push(r);
      holder.replaceChildren(...Object.entries(groups).map(([label, rows]) => heatGrid(label, rows, kx, ky, metric)));
    }
    for (const m of metrics) pills.append(el("button", { type: "button", text: m, onclick: () => draw(m) }));
    draw(s.sort);
    return [card(null, el("div", { class: "row" }, el("h2", { text: ky ? `Heatmaps: ${ky} down, ${kx} across` : `Runs by ${kx}` }), pills), holder),
            card("Every run, best first", table("backtest", "runs", d.tables.runs, { query: { id: d.backtest.id } }))];
  }

  function heatGrid(label, rows, kx, ky, metric) {
    const xs = [...new Set(rows.map((r) => r.pairs[kx]))], ys = ky ? [...new Set(rows.map((r) => r.pairs[ky]))] : [""];
    const scale = Math.max(1e-9, ...rows.map((r) => Math.abs(r.metrics[metric] || 0)));
    const grid = el("div", { class: "heat sweep" }, el("div", { class: "head", text: ky || "" }), ...xs.map((x) => el("div", { class: "head", text: x })));
    grid.style.gridTemplateColumns = `4.5rem repeat(${xs.length}, minmax(0, 1fr))`;
    const pctMetric = ["total_return", "cagr", "max_drawdown", "hit_rate"].includes(metric);
    for (const y of ys) {
      grid.append(el("div", { class: "head", text: y }));
      for (const x of xs) {
        const r = rows.find((q) => q.pairs[kx] === x && (!ky || q.pairs[ky] === y));
        const v = r ? r.metrics[metric] : null, c = el("div", { text: v == null ? "" : pctMetric ? grouped(v * 100, 1) : grouped(v, 2) });
        if (v != null) c.style.backgroundColor = (v >= 0 ? "#0072B2" : "#D55E00") + Math.round(40 + 215 * Math.min(1, Math.abs(v) / scale)).toString(16).padStart(2, "0");
        grid.append(c);
      }
    }
    return el("div", { class: "heat-group" }, label ? el("p", { class: "muted", text: label }) : null, grid,
              el("p", { class: "muted", text: `${metric}${pctMetric ? " (%)" : ""}: blue above zero, vermillion below` }));
  }

  const PAGES = { overview, holdings, rebalances, rebalance, performance: performancePage, parameters, backtests, backtest };

  // ---- routing, fetching, live updates ---------------------------------------------------
  function route() {
    const [page, arg] = (location.hash.slice(1) || "overview").split("/");
    state.page = PAGES[page] ? page : "overview";
    state.arg = arg || "";
    for (const a of document.querySelectorAll("nav a"))
      a.classList.toggle("on", a.getAttribute("href") === "#" + ({ rebalance: "rebalances", backtest: "backtests" }[state.page] || state.page));
  }
  async function render() {
    route();
    const query = state.page === "rebalance" || state.page === "backtest" ? `?id=${encodeURIComponent(state.arg)}`
      : state.page === "performance" && state.arg ? `?window=${encodeURIComponent(state.arg)}` : "";
    let response;
    try { response = await fetch(`/api/${state.page}.json${query}`, { credentials: "same-origin" }); }
    catch (e) { liveDot.classList.remove("on"); return; }
    const body = await response.json();
    if (!response.ok) { main.replaceChildren(el("p", { class: "muted", text: body.error || response.statusText })); return; }
    if (body.timezone) state.tz = body.timezone;
    if (body.quote) state.quote = body.quote;
    for (const c of state.charts) c.plot.destroy();
    state.charts = [];
    const y = window.scrollY;
    await PAGES[state.page](body);
    window.scrollTo(0, y);
    document.body.dataset.page = state.page;
    // After the next frame the charts are on screen: the benchmark reads this as "fully drawn".
    requestAnimationFrame(() => { document.body.dataset.drawnMs = String(Math.round(performance.now())); });
  }
  async function start() {
    try {  // the overview's timezone applies to every page's times
      const r = await fetch("/api/parameters.json", { credentials: "same-origin" });
      if (r.ok) { const rows = (await r.json()).tables.current.rows; const tz = rows.find((x) => x[0] === "timezone"); if (tz) state.tz = tz[1]; }
    } catch (e) { /* the page still renders, in UTC */ }
    await render();
    const events = new EventSource("/api/events");
    events.addEventListener("open", () => liveDot.classList.add("on"));
    events.addEventListener("error", () => liveDot.classList.remove("on"));
    events.addEventListener("change", async () => {
      await render();
      state.updates += 1;
      document.body.dataset.updates = String(state.updates);
    });
  }
  window.addEventListener("hashchange", () => { window.scrollTo(0, 0); render(); });
  start();
})();
