"use strict";
// planet-exporter's page. Fetches /api/v1 every few seconds and draws the current view
// with DOM nodes and inline SVG. Text from outside (process names, inventory labels,
// interface errors) only reaches the page through text nodes and attribute values,
// never as markup, so a process named "<b>x</b>" shows as exactly that.
(function () {
  const REFRESH_MS = 5000;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const main = document.getElementById("main");
  const state = {
    paused: false,
    timer: null,
    generation: 0,
    route: null,
    summary: null,
    peers: { sort: "bytes", order: "desc", offset: 0, limit: 100, q: "" },
    services: { sort: "port", order: "asc" },
    rates: new Map(), // ip -> [{time, ingress, egress}], the peer graphs since the page opened
    last: null, // the latest data of the current view, redrawn on resize
  };

  // ---- DOM helpers: strings become text nodes; attributes are set one by one.

  function add(node, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) add(node, child);
      else node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function setAttributes(node, attrs) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, String(value));
    }
    return node;
  }
  function el(tag, attrs, ...children) { return add(setAttributes(document.createElement(tag), attrs), children); }
  function svg(tag, attrs, ...children) { return add(setAttributes(document.createElementNS(SVG_NS, tag), attrs), children); }
  // Replaces what the page shows.
  function show(...children) { main.replaceChildren(); add(main, children); }

  // ---- figures

  function bytes(n) {
    const units = ["B", "KB", "MB", "GB", "TB", "PB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)) + " " + units[i];
  }
  function bits(bytesPerSecond) {
    const units = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"];
    let n = bytesPerSecond * 8, i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)) + " " + units[i];
  }
  function count(n) { return Number(n).toLocaleString("en-US"); }
  function ago(seconds) {
    if (seconds === null || seconds === undefined) return "never";
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 2) return "now";
    if (seconds < 120) return seconds + " s ago";
    if (seconds < 7200) return Math.round(seconds / 60) + " min ago";
    if (seconds < 172800) return Math.round(seconds / 3600) + " h ago";
    return Math.round(seconds / 86400) + " days ago";
  }
  function clock(unixSeconds) { return new Date(unixSeconds * 1000).toLocaleString(); }
  function plural(n, word) { return count(n) + " " + word + (n === 1 ? "" : "s"); }
  // A number cell: the figure in words, the exact value in data-value and the tooltip.
  function numberCell(value, text, unit) {
    return el("td", { class: "num", "data-value": value, title: count(value) + " " + unit }, text);
  }
  function clip(text, length) { return text.length > length ? text.slice(0, length - 1) + "\u2026" : text; }

  // ---- data

  async function api(path) {
    const response = await fetch("/api/v1/" + path, { headers: { Accept: "application/json" }, cache: "no-store" });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(body.error || response.status + " " + response.statusText);
      error.status = response.status;
      throw error;
    }
    return body;
  }
  function peerPath(ip) { return "#/peer/" + encodeURIComponent(ip); }

  // ---- routing and refresh

  function parseRoute() {
    const hash = location.hash.replace(/^#\/?/, "");
    if (hash.startsWith("peer/")) return { view: "peer", ip: decodeURIComponent(hash.slice(5)) };
    if (hash === "peers") return { view: "peers" };
    if (hash === "dependencies") return { view: "dependencies" };
    if (hash === "services") return { view: "services" };
    return { view: "overview" };
  }

  function navigate() {
    state.route = parseRoute();
    state.last = null;
    for (const name of ["overview", "peers", "dependencies", "services"]) {
      const current = state.route.view === name || (name === "peers" && state.route.view === "peer");
      document.getElementById("nav-" + name).classList.toggle("current", current);
    }
    show(el("p", { class: "muted" }, "Loading\u2026"));
    refresh();
  }

  async function refresh() {
    clearTimeout(state.timer);
    const generation = ++state.generation;
    const route = state.route;
    try {
      const data = await views[route.view].load(route);
      if (generation !== state.generation) return; // a newer refresh or route took over
      state.last = { route, data };
      views[route.view].draw(data, route);
      document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
      showProblem(null);
    } catch (error) {
      if (generation !== state.generation) return;
      if (error.status === 404 && route.view === "peer") {
        show(el("h1", null, route.ip), el("p", { class: "muted" }, error.message));
      } else {
        showProblem("Could not load from the agent: " + error.message + ". Trying again every " + REFRESH_MS / 1000 + " s.");
      }
    }
    if (!state.paused && generation === state.generation) state.timer = setTimeout(refresh, REFRESH_MS);
  }

  function showProblem(text) {
    const node = document.getElementById("problem");
    node.hidden = !text;
    node.textContent = text || "";
  }

  async function loadSummary() {
    const summary = await api("summary");
    state.summary = summary;
    const host = summary.host;
    const labels = [host.hostgroup, host.domain].filter(Boolean).join(" / ");
    document.getElementById("host").textContent = host.hostname + " (" + host.ip + ")" + (labels ? " \u00b7 " + labels : "");
    document.getElementById("version").textContent = "version " + summary.version;
    document.title = host.hostname + " \u00b7 planet-exporter";
    return summary;
  }

  // ---- overview

  const RANGE_TITLES = { minute: "Last 60 seconds", hour: "Last 60 minutes", day: "Last 24 hours", month: "Last 31 days" };
  const RANGE_START = { minute: "60 s ago", hour: "60 min ago", day: "24 h ago", month: "31 days ago" };

  function drawOverview(data) {
    const { summary, graphs } = data;
    const traffic = summary.traffic;
    const parts = [el("h1", null, "Overview")];
    if (traffic) {
      parts.push(el("div", { class: "cards", id: "rates" },
        card("In now", bits(traffic.ingress.rate), "in", bytes(traffic.ingress.bytes) + " counted", "rate-in"),
        card("Out now", bits(traffic.egress.rate), "out", bytes(traffic.egress.bytes) + " counted", "rate-out"),
        card("Peers", count(traffic.peers), "", count(traffic.series) + " of " + count(traffic.series_limit) + " series in memory", "peers-card"),
        card("Evicted series", count(traffic.evicted_series), "", "least recently active, past the series limit")));
    } else {
      parts.push(el("p", { class: "muted" }, "Packet capture is off (-task-capture-enabled=false): no traffic figures."));
    }
    const figures = el("div", { class: "graphs" });
    parts.push(el("h2", null, "Traffic"), figures);
    parts.push(el("h2", null, "Capture"), captureHealth(summary.capture));
    parts.push(el("h2", null, "Tasks"), taskHealth(summary));
    show(parts);
    // Graphs are drawn at the size their box has once every box is laid out, so their
    // text stays readable at any width.
    const boxes = graphs.graphs.map((graph) => {
      const box = el("div", { class: "graph-box" });
      figures.appendChild(el("figure", { id: "graph-" + graph.range }, el("figcaption", null, RANGE_TITLES[graph.range]), box));
      return box;
    });
    graphs.graphs.forEach((graph, i) => boxes[i].appendChild(drawGraph(graph, boxes[i].clientWidth || 320)));
  }

  function card(label, value, kind, sub, id) {
    return el("div", { class: "card", id }, el("div", { class: "label" }, label),
      el("div", { class: "value " + kind }, value), el("div", { class: "sub" }, sub));
  }

  // Bars per bucket: bytes in above the middle line, bytes out below it.
  function drawGraph(graph, width) {
    const height = 150, left = 4, right = 4, top = 16, bottom = 16;
    const buckets = graph.buckets;
    const middle = top + (height - top - bottom) / 2;
    const half = (height - top - bottom) / 2;
    let peak = 1;
    for (const b of buckets) peak = Math.max(peak, b.ingress_bytes, b.egress_bytes);
    const node = svg("svg", { width, height, viewBox: "0 0 " + width + " " + height, role: "img",
      "aria-label": RANGE_TITLES[graph.range] + ": bytes in and out per " + graph.bucket_seconds + " s" });
    const step = (width - left - right) / Math.max(1, buckets.length || 60);
    buckets.forEach((b, i) => {
      const x = left + i * step;
      const w = Math.max(1, step - (step > 4 ? 1 : 0));
      const title = svg("title", null, clock(b.start) + ": in " + bytes(b.ingress_bytes) + ", out " + bytes(b.egress_bytes));
      const hIn = b.ingress_bytes / peak * half, hOut = b.egress_bytes / peak * half;
      node.appendChild(svg("g", null, title,
        svg("rect", { class: "bar-in", x, y: middle - hIn, width: w, height: hIn }),
        svg("rect", { class: "bar-out", x, y: middle, width: w, height: hOut })));
    });
    node.appendChild(svg("line", { class: "axis", x1: left, x2: width - right, y1: middle, y2: middle }));
    const peakRate = peak / graph.bucket_seconds;
    const scale = peak > 1 ? "peak " + bits(peakRate) : "no traffic";
    node.appendChild(svg("text", { x: left, y: 11 }, "in \u2191 " + scale));
    node.appendChild(svg("text", { x: left, y: height - 3 }, "out \u2193 \u00b7 " + RANGE_START[graph.range]));
    node.appendChild(svg("text", { x: width - right, y: height - 3, "text-anchor": "end" }, "now"));
    return node;
  }

  function captureHealth(capture) {
    if (!capture.enabled) return el("p", { class: "muted" }, "Packet capture is off.");
    const lost = capture.kernel_dropped + capture.ring_dropped;
    const undecoded = Object.entries(capture.undecoded).filter(([, n]) => n > 0);
    const unattributed = Object.entries(capture.unattributed_bytes).filter(([, n]) => n > 0);
    const working = capture.interfaces.filter((i) => i.capturing);
    const failing = capture.interfaces.filter((i) => !i.capturing);
    const list = el("ul", { id: "capture-health" },
      el("li", { class: capture.healthy ? "ok" : "bad" },
        capture.healthy ? "Capturing on " : "Not capturing everywhere: capturing on ",
        plural(working.length, "interface"), working.length ? " (" + working.map((i) => i.name).join(", ") + ")" : ""),
      el("li", { class: lost ? "bad" : "" }, plural(lost, "packet") + " lost since start",
        lost ? " (" + count(capture.kernel_dropped) + " by the kernel, " + count(capture.ring_dropped) + " with the ring full)" : ""),
      el("li", null, plural(capture.packets, "packet") + " captured"),
      el("li", null, undecoded.length
        ? plural(undecoded.reduce((s, [, n]) => s + n, 0), "frame") + " not decoded (" + undecoded.map(([r, n]) => r + " " + count(n)).join(", ") + ")"
        : "Every frame decoded"),
      el("li", null, unattributed.length
        ? "Not counted against a peer: " + unattributed.map(([r, n]) => bytes(n) + " " + r.replace("_", " ")).join(", ")
        : "Every byte counted against a peer"),
      failing.map((i) => el("li", { class: "bad" }, i.name + ": " + i.error)));
    const covered = capture.interfaces.filter((i) => i.coverage);
    if (!covered.length) return list;
    return [list, el("ul", { id: "interface-coverage", title: "Since capture on the interface started, against the interface's own counters (received + sent)" },
      covered.map(interfaceCoverage))];
  }

  // One line per interface: what the capture counted beside what the kernel counted.
  function interfaceCoverage(i) {
    const c = i.coverage;
    if (!c.kernel_packets) return el("li", { "data-interface": i.name }, i.name + ": no packets since capture started");
    // Floored, so that 100.00% means every packet and byte.
    const percent = (part, whole) => whole ? (Math.floor(part * 10000 / whole) / 100).toFixed(2) + "%" : "-";
    const k = i.kernel;
    return el("li", { "data-interface": i.name, class: c.packets < c.kernel_packets * 0.99 ? "bad" : "",
      title: "kernel: received " + count(k.receive_packets) + " packets (" + count(k.receive_dropped) + " dropped), sent " +
        count(k.transmit_packets) + " (" + count(k.transmit_dropped) + " dropped)" },
      i.name + ": captured " + count(c.packets) + " of " + count(c.kernel_packets) + " packets (" + percent(c.packets, c.kernel_packets) +
      "), " + bytes(c.wire_bytes) + " of " + bytes(c.kernel_bytes) + " (" + percent(c.wire_bytes, c.kernel_bytes) + ")");
  }

  function taskHealth(summary) {
    const tasks = summary.tasks;
    const socket = summary.socket_table;
    const parts = [];
    if (socket.enabled) {
      parts.push(el("p", null, "Socket table: ", el("span", { class: socket.succeeded ? "ok" : "bad" }, socket.succeeded ? "read" : "failing"),
        " \u00b7 " + plural(socket.upstreams, "upstream edge") + ", " + plural(socket.downstreams, "downstream edge") + ", " +
        plural(socket.servers, "listening socket")));
    }
    if (!tasks.collectors.length) { parts.push(el("p", { class: "muted" }, "No scrape yet.")); return parts; }
    parts.push(el("div", { class: "table-box" }, el("table", { id: "tasks" },
      el("thead", null, el("tr", null, el("th", null, "Collector"), el("th", null, "Status"), el("th", { class: "num" }, "Duration"))),
      el("tbody", null, tasks.collectors.map((c) => el("tr", null, el("td", null, c.collector),
        el("td", { class: c.success ? "ok" : "bad" }, c.success ? "OK" : "FAILING"),
        el("td", { class: "num" }, (c.duration_seconds * 1000).toFixed(1) + " ms")))))));
    parts.push(el("p", { class: "muted" }, "As of the latest scrape of /metrics, " + ago(summary.time - tasks.scraped_at) + "."));
    return parts;
  }

  // ---- peers

  const PEER_COLUMNS = [
    ["ip", "IP", false], ["hostgroup", "Hostgroup / domain", false], ["in", "In", true], ["out", "Out", true],
    ["bytes", "Total", true], ["rate", "Rate", true], [null, "Ports", false], [null, "Processes", false],
    ["last_seen", "Last seen", true],
  ];

  function peersQuery() {
    const p = state.peers;
    return "peers?" + new URLSearchParams({ sort: p.sort, order: p.order, limit: p.limit, offset: p.offset, q: p.q });
  }

  function drawPeers(data) {
    let table = document.getElementById("peers-table");
    if (!table) {
      const filter = el("input", { type: "search", id: "peer-filter", placeholder: "Filter: address prefix, 10.0.0.0/8, hostgroup, domain, process, port",
        "aria-label": "Filter peers", value: state.peers.q });
      let pending = null;
      filter.addEventListener("input", () => {
        clearTimeout(pending);
        pending = setTimeout(() => { state.peers.q = filter.value.trim(); state.peers.offset = 0; refresh(); }, 300);
      });
      const size = el("select", { id: "page-size", "aria-label": "Rows per page" },
        [50, 100, 500].map((n) => el("option", { value: n, selected: n === state.peers.limit }, n + " rows")));
      size.addEventListener("change", () => { state.peers.limit = Number(size.value); state.peers.offset = 0; refresh(); });
      const head = el("tr", null, PEER_COLUMNS.map(([key, title, numeric]) => {
        const th = el("th", { class: (numeric ? "num " : "") + (key ? "sortable" : ""), "data-sort": key }, title);
        if (key) th.addEventListener("click", () => sortBy(key));
        return th;
      }));
      table = el("table", { id: "peers-table" }, el("thead", null, head), el("tbody"));
      show(el("h1", null, "Peers"),
        el("div", { class: "controls" }, filter, size,
          el("button", { type: "button", id: "page-prev", onclick: () => page(-1) }, "\u2190 Previous"),
          el("button", { type: "button", id: "page-next", onclick: () => page(1) }, "Next \u2192"),
          el("span", { id: "peers-count", class: "muted" })),
        el("div", { class: "table-box" }, table));
    }
    for (const th of table.tHead.rows[0].cells) {
      const sorted = th.dataset.sort === state.peers.sort;
      th.classList.toggle("sorted", sorted);
      th.classList.toggle("asc", sorted && state.peers.order === "asc");
    }
    const rows = data.peers.map((p) => {
      recordRate(p.ip, data.time, p.ingress_rate, p.egress_rate);
      return el("tr", { "data-ip": p.ip },
        el("td", { class: "ip" }, el("a", { href: peerPath(p.ip) }, p.ip), p.remote_dns_name ? el("div", { class: "tags dns" }, p.remote_dns_name) : null),
        el("td", null, p.hostgroup || p.domain ? [p.hostgroup, p.domain && el("div", { class: "tags" }, p.domain)] : el("span", { class: "muted" }, "\u2013")),
        numberCell(p.ingress_bytes, bytes(p.ingress_bytes), "bytes in"),
        numberCell(p.egress_bytes, bytes(p.egress_bytes), "bytes out"),
        numberCell(p.bytes, bytes(p.bytes), "bytes"),
        el("td", { class: "num", "data-value": p.rate, title: bits(p.ingress_rate) + " in, " + bits(p.egress_rate) + " out" }, bits(p.rate)),
        el("td", { class: "tags" }, list(p.ports, 4)),
        el("td", { class: "tags" }, list(p.processes, 3),
          p.process_units && p.process_units.length ? el("div", { class: "unit" }, list(p.process_units, 3)) : null),
        el("td", { class: "num", title: clock(p.last_seen) }, ago(data.time - p.last_seen)));
    });
    table.tBodies[0].replaceChildren(...(rows.length ? rows : [el("tr", null, el("td", { colspan: 9, class: "empty" },
      data.q ? "No peer matches \u201c" + data.q + "\u201d." : "No traffic counted yet."))]));
    const first = data.matched ? data.offset + 1 : 0;
    document.getElementById("peers-count").textContent =
      count(first) + "\u2013" + count(data.offset + data.peers.length) + " of " + plural(data.matched, "peer") +
      (data.matched !== data.peers_total ? " matching (" + count(data.peers_total) + " in all)" : "");
    document.getElementById("page-prev").disabled = data.offset === 0;
    document.getElementById("page-next").disabled = data.offset + data.peers.length >= data.matched;
  }

  // A process name with its systemd unit or container, when known, on a line below.
  function processCell(name, unit) {
    return el("td", null, name || el("span", { class: "muted" }, "unknown"), unit ? el("div", { class: "tags unit" }, unit) : null);
  }

  function list(items, shown) {
    if (!items.length) return el("span", { class: "muted" }, "\u2013");
    const text = items.slice(0, shown).join(", ");
    return items.length > shown ? [text, el("span", { title: items.join(", ") }, " +" + (items.length - shown))] : text;
  }

  function sortBy(key) {
    const p = state.peers;
    if (p.sort === key) p.order = p.order === "asc" ? "desc" : "asc";
    else { p.sort = key; p.order = key === "ip" || key === "hostgroup" ? "asc" : "desc"; }
    p.offset = 0;
    refresh();
  }

  function page(direction) {
    state.peers.offset = Math.max(0, state.peers.offset + direction * state.peers.limit);
    refresh();
  }

  // ---- one peer

  function recordRate(ip, time, ingress, egress) {
    let samples = state.rates.get(ip);
    if (!samples) {
      if (state.rates.size > 5000) state.rates.clear(); // a bound for very long sessions
      state.rates.set(ip, samples = []);
    }
    if (!samples.length || samples[samples.length - 1].time < time) samples.push({ time, ingress, egress });
    if (samples.length > 720) samples.shift();
  }

  function drawPeer(peer) {
    recordRate(peer.ip, peer.time, peer.ingress_rate, peer.egress_rate);
    const labels = [peer.hostgroup, peer.domain].filter(Boolean).join(" / ");
    const samples = state.rates.get(peer.ip) || [];
    const graphBox = el("div", { class: "graph-box" });
    show(
      el("p", null, el("a", { href: "#/peers" }, "\u2190 Peers")),
      el("h1", { id: "peer-title" }, peer.ip, peer.remote_dns_name ? el("span", { class: "dns-name" }, " " + peer.remote_dns_name) : null,
        labels ? el("span", { class: "muted light" }, " \u00b7 " + labels) : null, " ", captureButton("host " + peer.ip)),
      el("div", { class: "cards" },
        card("In", bytes(peer.ingress_bytes), "in", bits(peer.ingress_rate) + " now", "peer-in"),
        card("Out", bytes(peer.egress_bytes), "out", bits(peer.egress_rate) + " now", "peer-out"),
        card("Last seen", peer.last_seen ? ago(peer.time - peer.last_seen) : "never", "", peer.last_seen ? clock(peer.last_seen) : "no traffic counted")),
      el("h2", null, "Rate since this page opened"), el("figure", { id: "peer-graph" }, graphBox),
      el("h2", null, "Traffic by direction, protocol, port and process"),
      el("div", { class: "table-box" }, el("table", { id: "peer-series" },
        el("thead", null, el("tr", null, ["Direction", "Protocol", "Port", "Process"].map((t) => el("th", null, t)),
          el("th", { class: "num" }, "Bytes"), el("th", { class: "num" }, "Rate"), el("th", { class: "num" }, "Last seen"))),
        el("tbody", null, peer.series.length ? peer.series.map((s) => el("tr", null,
          el("td", { class: s.direction === "ingress" ? "in" : "out" }, s.direction), el("td", null, s.protocol),
          el("td", null, s.port || "\u2013"), processCell(s.process, s.process_unit),
          numberCell(s.bytes, bytes(s.bytes), "bytes"), el("td", { class: "num", "data-value": s.rate }, bits(s.rate)),
          el("td", { class: "num", title: clock(s.last_seen) }, ago(peer.time - s.last_seen))))
          : el("tr", null, el("td", { colspan: 7, class: "empty" }, "No traffic counted with this peer."))))),
      el("h2", null, "Dependency edges"),
      edgeTable(peer.dependencies, "peer-edges"),
      el("h2", null, "Connection health"), healthTable(peer.tcp));
    graphBox.appendChild(drawRateGraph(samples, graphBox.clientWidth || 320));
  }

  // A line per direction through the rates sampled at each refresh.
  function drawRateGraph(samples, width) {
    const height = 120, pad = 16;
    const node = svg("svg", { width, height, viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": "Rate since the page opened" });
    node.appendChild(svg("line", { class: "axis", x1: 0, x2: width, y1: height - pad, y2: height - pad }));
    if (samples.length < 2) {
      node.appendChild(svg("text", { x: 4, y: 12 }, "drawn from the next refresh on, every " + REFRESH_MS / 1000 + " s"));
      return node;
    }
    const t0 = samples[0].time, t1 = samples[samples.length - 1].time;
    let peak = 1;
    for (const s of samples) peak = Math.max(peak, s.ingress, s.egress);
    const x = (t) => (t - t0) / Math.max(1, t1 - t0) * (width - 8) + 4;
    const y = (v) => height - pad - v / peak * (height - 2 * pad);
    for (const [key, colour] of [["ingress", "var(--in)"], ["egress", "var(--out)"]]) {
      const points = samples.map((s) => x(s.time).toFixed(1) + "," + y(s[key]).toFixed(1)).join(" ");
      const line = svg("polyline", { points, fill: "none", "stroke-width": 2 });
      line.style.stroke = colour;
      node.appendChild(line);
    }
    node.appendChild(svg("text", { x: 4, y: 11 }, "peak " + bits(peak) + " \u00b7 in and out"));
    node.appendChild(svg("text", { x: 4, y: height - 3 }, ago(t1 - t0).replace("now", "0 s")));
    node.appendChild(svg("text", { x: width - 4, y: height - 3, "text-anchor": "end" }, "now"));
    return node;
  }

  // ---- dependencies

  function edgeTable(edges, id) {
    if (!edges.length) return el("p", { class: "muted", id }, "No dependency edge in the latest socket-table reading.");
    const sorted = edges.slice().sort((a, b) => b.rate - a.rate || b.bytes - a.bytes);
    return el("div", { class: "table-box" }, el("table", { id },
      el("thead", null, el("tr", null, ["Kind", "Remote", "Hostgroup", "Port", "Process"].map((t) => el("th", null, t)),
        el("th", { class: "num" }, "In"), el("th", { class: "num" }, "Out"), el("th", { class: "num" }, "Rate"), captureButton("") && el("th"))),
      el("tbody", null, sorted.map((e) => el("tr", { "data-ip": e.remote_ip, "data-kind": e.kind },
        el("td", { class: e.kind === "upstream" ? "out" : "in" }, e.kind),
        el("td", { class: "ip" }, el("a", { href: peerPath(e.remote_ip) }, e.remote_ip), e.remote_dns_name ? el("div", { class: "tags dns" }, e.remote_dns_name) : null,
          e.remote_domain ? el("div", { class: "tags" }, e.remote_domain) : null),
        el("td", null, e.remote_hostgroup || el("span", { class: "muted" }, "\u2013")),
        el("td", null, e.port + "/" + e.protocol),
        processCell(e.process, e.process_unit),
        numberCell(e.ingress_bytes, bytes(e.ingress_bytes), "bytes in"),
        numberCell(e.egress_bytes, bytes(e.egress_bytes), "bytes out"),
        el("td", { class: "num", "data-value": e.rate }, bits(e.rate)),
        captureButton("") && el("td", null, captureButton("host " + e.remote_ip + " and port " + e.port)))))));
  }

  // TCP connections per edge from the captured handshakes (/api/v1/tcp).
  function healthTable(tcp) {
    if (!tcp.edges.length) return el("p", { class: "muted", id: "tcp-health" }, "No TCP handshake captured yet.");
    const ms = (us) => us === null ? el("span", { class: "muted" }, "\u2013")
      : us < 1000 ? us + " \u00b5s" : (us / 1000).toFixed(us < 10000 ? 2 : 1) + " ms";
    const bad = (n) => n > 0 ? "num bad" : "num";
    const lost = tcp.untracked_handshakes + tcp.edge_limit_events;
    return el("div", null, el("div", { class: "table-box" }, el("table", { id: "tcp-health" },
      el("thead", null, el("tr", null, ["Direction", "Remote", "Port", "Process"].map((t) => el("th", null, t)),
        ["Attempts", "Established", "Refused", "Timed out", "Reset", "Handshake", "Loss", "RTT p50", "RTT p95", "Stalls"].map((t) => el("th", { class: "num" }, t)))),
      el("tbody", null, tcp.edges.map((e) => el("tr", { "data-ip": e.remote_ip, "data-direction": e.direction, "data-port": e.port },
        el("td", { class: e.direction === "upstream" ? "out" : "in" }, e.direction),
        el("td", { class: "ip" }, el("a", { href: peerPath(e.remote_ip) }, e.remote_ip), e.remote_domain ? el("div", { class: "tags" }, e.remote_domain) : null),
        el("td", null, e.port + "/tcp"),
        processCell(e.process, e.process_unit),
        el("td", { class: "num", "data-field": "attempts" }, count(e.attempts)),
        el("td", { class: "num", "data-field": "established" }, count(e.established)),
        el("td", { class: bad(e.refused), "data-field": "refused" }, count(e.refused)),
        el("td", { class: bad(e.timed_out), "data-field": "timed_out" }, count(e.timed_out)),
        el("td", { class: bad(e.reset), "data-field": "reset" }, count(e.reset)),
        el("td", { class: "num", title: "mean of " + plural(e.handshakes, "handshake") }, ms(e.handshake_mean_microseconds)),
        lossCell(e, tcp), rttCell(e.rtt_p50_microseconds, e), rttCell(e.rtt_p95_microseconds, e),
        el("td", { class: bad(e.stalls), "data-field": "stalls", title: stallsTitle(e) }, count(e.stalls))))))),
      el("p", { class: "muted" }, plural(tcp.edges_total, "edge") + " of at most " + count(tcp.max_edges) +
        (tcp.edges.length < tcp.edges_total ? ", the " + count(tcp.edges.length) + " with the most attempts shown" : "") +
        (lost ? "; " + plural(lost, "event") + " not counted (handshake table or edge limit)" : "") + "."));
  }

  // ---- loss and round trips per edge (/api/v1/tcp's connection analysis)

  // "ok", "amber" or "red" by the edge's loss and the API's thresholds.
  function lossLevel(percent, tcp) {
    if (percent === null || percent === undefined) return "ok";
    return percent >= tcp.loss_percent_red ? "red" : percent >= tcp.loss_percent_amber ? "amber" : "ok";
  }

  // The stalls cell's breakdown: a receiver that shut its window, or a sender that filled it.
  function stallsTitle(e) {
    const s = e.senders;
    return plural(s.local.zero_window_segments + s.remote.zero_window_segments, "zero-window segment") + ", " +
      plural(s.local.window_full_stalls + s.remote.window_full_stalls, "window-full stall") + " (both sides)";
  }

  function lossCell(e, tcp) {
    const data = e.senders.local.data_segments + e.senders.remote.data_segments;
    const retransmitted = e.senders.local.retransmitted_segments + e.senders.remote.retransmitted_segments;
    if (e.loss_percent === null) return el("td", { class: "num muted", "data-field": "loss" }, "\u2013");
    return el("td", { class: "num loss-" + lossLevel(e.loss_percent, tcp), "data-field": "loss", "data-value": e.loss_percent,
      title: count(retransmitted) + " of " + plural(data, "data segment") + " retransmitted" }, e.loss_percent.toFixed(2) + " %");
  }

  function rttCell(us, e) {
    const s = e.senders.local;
    if (us === null) return el("td", { class: "num muted" }, "\u2013");
    const text = us < 1000 ? us + " \u00b5s" : (us / 1000).toFixed(us < 10000 ? 2 : 1) + " ms";
    return el("td", { class: "num", "data-value": us,
      title: "from the buckets of " + plural(s.rtt_samples_timestamp + s.rtt_samples_ack, "round trip") + " of local data (" +
        count(s.rtt_samples_timestamp) + " by timestamps, " + count(s.rtt_samples_ack) + " by ACK)" }, text);
  }

  // The worst loss level of the connection-analysis edges a map edge stands for.
  function mapLossLevels(tcp) {
    const levels = new Map();
    const rank = { ok: 0, amber: 1, red: 2 };
    for (const e of (tcp ? tcp.edges : [])) {
      const key = e.direction + " " + e.remote_ip + " " + e.port;
      const level = lossLevel(e.loss_percent, tcp);
      if (!levels.has(key) || rank[level] > rank[levels.get(key)]) levels.set(key, level);
    }
    return levels;
  }

  function lossLegend(tcp) {
    const pct = (p) => p + " %";
    // A short stretch of edge drawn as the map draws it.
    const sample = (level) => svg("svg", { width: 28, height: 10, "aria-hidden": "true" },
      svg("path", { class: "edge upstream" + (level === "ok" ? "" : " loss-" + level), d: "M2,5 L26,5", "stroke-width": 3 }));
    return el("p", { class: "legend", id: "loss-legend" }, "Loss on an edge (retransmitted data segments): ",
      sample("ok"), " below " + pct(tcp.loss_percent_amber) + " \u00b7 ",
      sample("amber"), " " + pct(tcp.loss_percent_amber) + " to " + pct(tcp.loss_percent_red) + " \u00b7 ",
      sample("red"), " " + pct(tcp.loss_percent_red) + " or more");
  }

  function drawDependencies(data) {
    const { dependencies, summary } = data;
    const mapBox = el("div", { class: "map-box" });
    const edges = dependencies.upstream.concat(dependencies.downstream);
    show(el("h1", null, "Dependencies"),
      el("p", { class: "muted" }, "Downstream clients call this host's services (left); this host calls upstream services (right). " +
        "Line width follows bytes/s; a click on a peer opens it."),
      dependencies.succeeded ? null : el("p", { class: "bad" }, "The latest socket-table reading failed; these edges are from the one before."),
      mapBox, lossLegend(data.tcp),
      el("h2", null, "Edges"), edgeTable(edges, "edges-table"),
      el("h2", null, "Connection health"), healthTable(data.tcp));
    mapBox.appendChild(drawMap(dependencies, summary.host, Math.max(640, mapBox.clientWidth || 640), mapLossLevels(data.tcp)));
  }

  // One node per peer and kind, grouped by hostgroup; a line per edge from the node's
  // row to this host in the middle.
  function drawMap(deps, host, width, lossLevels = new Map()) {
    const rowHeight = 16, titleHeight = 20, nodeGap = 10, groupPad = 8, top = 30;
    const nodeWidth = Math.min(260, Math.floor(width * 0.3));
    const sides = { downstream: layoutSide(deps.downstream), upstream: layoutSide(deps.upstream) };
    let height = 120;
    for (const side of Object.values(sides)) height = Math.max(height, top + side.height + 10);
    const node = svg("svg", { class: "map", id: "dep-map", width, height, viewBox: "0 0 " + width + " " + height, role: "img",
      "aria-label": "Dependency map" });
    const centre = { x: width / 2, y: height / 2 };
    const peak = Math.max(1, ...deps.upstream.concat(deps.downstream).map((e) => e.rate));
    const edgeLayer = svg("g"), nodeLayer = svg("g");
    node.append(edgeLayer, nodeLayer);
    nodeLayer.appendChild(svg("text", { class: "side", x: 8, y: 16 }, "Downstream clients (" + deps.downstream.length + ")"));
    nodeLayer.appendChild(svg("text", { class: "side", x: width - 8, y: 16, "text-anchor": "end" }, "Upstream services (" + deps.upstream.length + ")"));

    // Groups a side's edges by hostgroup, then peer; works out the height of each box.
    function layoutSide(edges) {
      const groups = new Map();
      for (const e of edges) {
        const key = e.remote_hostgroup || "";
        if (!groups.has(key)) groups.set(key, new Map());
        const peers = groups.get(key);
        if (!peers.has(e.remote_ip)) peers.set(e.remote_ip, []);
        peers.get(e.remote_ip).push(e);
      }
      const ordered = [...groups.entries()].sort(([a], [b]) => (a === "") - (b === "") || a.localeCompare(b));
      let y = 0;
      const boxes = [];
      for (const [group, peers] of ordered) {
        const start = y;
        if (group) y += groupPad + 12;
        for (const [ip, list] of peers) {
          list.sort((a, b) => b.rate - a.rate);
          const h = titleHeight + list.length * rowHeight + 4;
          boxes.push({ group, ip, edges: list, y, h });
          y += h + nodeGap;
        }
        if (group) { boxes.push({ group, frame: true, y: start, h: y - start + groupPad - nodeGap }); y += groupPad * 2; }
      }
      return { boxes, height: y };
    }

    function drawSide(kind, side) {
      const left = kind === "downstream";
      const x = left ? 16 : width - 16 - nodeWidth;
      for (const box of side.boxes) {
        const y = top + box.y;
        if (box.frame) {
          nodeLayer.appendChild(svg("g", { class: "group", "data-hostgroup": box.group },
            svg("rect", { x: x - 8, y, width: nodeWidth + 16, height: box.h, rx: 6 }),
            svg("text", { x: x - 2, y: y + 13 }, clip("hostgroup " + box.group, 40))));
          continue;
        }
        const label = box.edges[0].remote_domain || box.ip;
        const g = svg("g", { class: "node", "data-ip": box.ip, "data-kind": kind, tabindex: 0, role: "link" },
          svg("title", null, box.ip + (box.edges[0].remote_domain ? " (" + box.edges[0].remote_domain + ")" : "")),
          svg("rect", { x, y, width: nodeWidth, height: box.h, rx: 4 }),
          svg("text", { class: "title", x: x + 6, y: y + 14 }, clip(label, Math.floor(nodeWidth / 7.5))));
        const open = () => { location.hash = peerPath(box.ip); };
        g.addEventListener("click", open);
        g.addEventListener("keydown", (event) => { if (event.key === "Enter") open(); });
        box.edges.forEach((e, i) => {
          const rowY = y + titleHeight + i * rowHeight + 8;
          g.appendChild(svg("text", { class: "row", x: x + 6, y: rowY + 4, "data-port": e.port, "data-protocol": e.protocol, "data-process": e.process },
            clip(e.port + "/" + e.protocol + " " + (e.process || "?"), Math.floor(nodeWidth / 6.6) - 10)));
          g.appendChild(svg("text", { class: "rate", x: x + nodeWidth - 6, y: rowY + 4, "text-anchor": "end" }, bits(e.rate)));
          const fromX = left ? x + nodeWidth : x;
          const toX = left ? centre.x - 70 : centre.x + 70;
          const bend = (toX - fromX) / 2;
          const loss = lossLevels.get(kind + " " + e.remote_ip + " " + e.port) || "ok";
          const path = svg("path", { class: "edge " + kind + (loss === "ok" ? "" : " loss-" + loss), "data-loss": loss, d: "M" + fromX + "," + rowY + " C" + (fromX + bend) + "," + rowY + " " +
            (toX - bend) + "," + centre.y + " " + toX + "," + centre.y, "stroke-width": edgeWidth(e.rate, peak) },
            svg("title", null, e.port + "/" + e.protocol + " " + e.process + ": " + bits(e.rate)));
          edgeLayer.appendChild(path);
        });
        nodeLayer.appendChild(g);
      }
    }
    drawSide("downstream", sides.downstream);
    drawSide("upstream", sides.upstream);
    nodeLayer.appendChild(svg("g", { class: "host" },
      svg("rect", { x: centre.x - 70, y: centre.y - 18, width: 140, height: 36, rx: 6 }),
      svg("text", { x: centre.x, y: centre.y + 5, "text-anchor": "middle" }, clip(host.hostname || host.ip, 18))));
    return node;
  }

  // 1.5 px for an idle edge up to 14 px for the busiest, on a log scale so small
  // flows stay visible beside large ones.
  function edgeWidth(rate, peak) {
    if (rate <= 0) return 1.5;
    return (1.5 + 12.5 * Math.log1p(rate) / Math.log1p(peak)).toFixed(1);
  }

  // ---- services (/api/v1/services): a row per port this host serves, sorted here.

  const serviceColumns = [
    ["port", "Port", (s) => Number(s.port)], ["protocol", "Protocol", (s) => s.protocol], ["process", "Process", (s) => s.process],
    ["in", "In", (s) => s.ingress_bytes, true], ["out", "Out", (s) => s.egress_bytes, true], ["rate", "Rate", (s) => s.rate, true],
    ["clients", "Clients", (s) => s.clients, true],
  ];

  function drawServices(data) {
    const sort = state.services;
    const column = serviceColumns.find(([key]) => key === sort.sort) || serviceColumns[0];
    const rows = data.services.slice().sort((a, b) => {
      const x = column[2](a), y = column[2](b);
      const order = typeof x === "string" ? x.localeCompare(y) : x - y;
      return (sort.order === "asc" ? order : -order) || Number(a.port) - Number(b.port);
    });
    const head = serviceColumns.map(([key, label, , numeric]) => el("th", {
      class: (numeric ? "num " : "") + "sortable" + (key === sort.sort ? " sorted" + (sort.order === "asc" ? " asc" : "") : ""),
      "data-sort": key, onclick: () => sortServices(key) }, label));
    const tcpCell = (t) => t === null ? el("td", { class: "muted" }, "\u2013") : el("td", { class: "num", "data-field": "tcp" },
      count(t.established) + " of " + count(t.attempts) + " established",
      t.refused + t.timed_out + t.reset ? el("div", { class: "bad" }, [t.refused && t.refused + " refused", t.timed_out && t.timed_out + " timed out",
        t.reset && t.reset + " reset"].filter(Boolean).join(", ")) : null,
      t.handshake_mean_microseconds === null ? null : el("div", { class: "muted" }, "handshake " + (t.handshake_mean_microseconds < 1000
        ? t.handshake_mean_microseconds + " \u00b5s" : (t.handshake_mean_microseconds / 1000).toFixed(2) + " ms")));
    show(el("h1", null, "Services"),
      el("p", { class: "muted" }, "The ports this host serves, from the socket table and the servers learned from the packets, with the traffic of their clients; a click on a client opens it."),
      data.succeeded ? null : el("p", { class: "bad" }, "The latest socket-table reading failed or the socket table is off."),
      el("div", { class: "table-box" }, el("table", { id: "services-table" },
        el("thead", null, el("tr", null, head, el("th", null, "Top clients"), el("th", { class: "num" }, "TCP"))),
        el("tbody", null, rows.length ? rows.map((s) => el("tr", { "data-port": s.port, "data-protocol": s.protocol },
          el("td", null, s.port), el("td", null, s.protocol), processCell(s.process, s.process_unit),
          numberCell(s.ingress_bytes, bytes(s.ingress_bytes), "bytes in"), numberCell(s.egress_bytes, bytes(s.egress_bytes), "bytes out"),
          el("td", { class: "num", "data-value": s.rate }, bits(s.rate)), numberCell(s.clients, count(s.clients), "clients"),
          el("td", { class: "clients" }, s.top_clients.length ? s.top_clients.map((c) => el("div", { "data-ip": c.ip, "data-in": c.ingress_bytes, "data-out": c.egress_bytes },
            el("a", { href: peerPath(c.ip) }, c.ip), c.dns_name ? el("span", { class: "tags dns" }, " " + c.dns_name) : null,
            el("span", { class: "muted" }, " " + bytes(c.ingress_bytes + c.egress_bytes)))) : el("span", { class: "muted" }, "no traffic counted")),
          tcpCell(s.tcp)))
          : el("tr", null, el("td", { colspan: 9, class: "empty" }, "No service in the latest socket-table reading."))))));
  }

  function sortServices(key) {
    const sort = state.services;
    if (sort.sort === key) sort.order = sort.order === "asc" ? "desc" : "asc";
    else { sort.sort = key; sort.order = ["port", "protocol", "process"].includes(key) ? "asc" : "desc"; }
    if (state.last && state.route.view === "services") drawServices(state.last.data);
  }

  // ---- captures on demand (/api/v1/capture): a Capture button where a peer or an edge is
  // shown, when the summary says captures are served. The panel lives outside <main>, so
  // the view's refreshes leave a running capture alone.

  function captureButton(filter) {
    const settings = state.summary && state.summary.capture_on_demand;
    if (!settings || !settings.enabled) return null;
    return el("button", { type: "button", class: "capture-button", "data-filter": filter, title: "Capture packets: " + filter,
      onclick: () => openCapture(filter) }, "Capture");
  }

  function openCapture(filter) {
    const running = document.getElementById("capture-panel");
    if (running && running.dataset.running === "true") return;
    if (running) running.remove();
    const max = state.summary.capture_on_demand.max_seconds;
    const choices = [5, 10, 30].filter((s) => s < max).concat([max]);
    const input = el("input", { type: "text", id: "capture-filter", value: filter, "aria-label": "BPF filter", spellcheck: "false" });
    const seconds = el("select", { id: "capture-seconds", "aria-label": "Duration" },
      choices.map((s) => el("option", { value: s, selected: s === Math.min(10, max) }, s + " s")));
    const start = el("button", { type: "button", id: "capture-start" }, "Start");
    const panel = el("section", { id: "capture-panel", role: "dialog", "aria-label": "Capture packets" },
      el("h2", null, "Capture packets ", el("button", { type: "button", class: "close", "aria-label": "Close",
        onclick: () => { if (panel.controller) panel.controller.abort(); panel.remove(); } }, "\u00d7")),
      el("div", { class: "capture-form" }, el("label", null, "Filter ", input), el("label", null, "for ", seconds), start),
      el("progress", { id: "capture-progress", max: 1, value: 0, hidden: true }),
      el("p", { id: "capture-status", class: "muted" },
        "A pcapng file of the packets that match, each with the local process and the remote name in its comment."));
    start.addEventListener("click", () => runCapture(panel, input.value.trim(), Number(seconds.value)));
    document.body.appendChild(panel);
  }

  async function runCapture(panel, filter, seconds) {
    const status = panel.querySelector("#capture-status"), progress = panel.querySelector("#capture-progress");
    const start = panel.querySelector("#capture-start");
    const controller = new AbortController();
    panel.controller = controller;
    panel.dataset.running = "true";
    start.disabled = true;
    progress.hidden = false;
    progress.max = seconds;
    status.className = "muted";
    const began = Date.now(), chunks = [];
    let received = 0;
    const tick = () => {
      progress.value = Math.min(seconds, (Date.now() - began) / 1000);
      status.textContent = "Capturing: " + Math.floor(progress.value) + " of " + seconds + " s, " + bytes(received) + " so far";
    };
    const ticker = setInterval(tick, 250);
    tick();
    try {
      const response = await fetch("/api/v1/capture?" + new URLSearchParams({ filter, seconds }), { signal: controller.signal, cache: "no-store" });
      if (!response.ok) {
        let message = response.status + " " + response.statusText;
        try { message = (await response.json()).error || message; } catch (_) { /* not JSON: the status says it */ }
        throw new Error(message);
      }
      const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        received += value.length;
      }
      const name = named ? named[1] : "capture.pcapng";
      const link = el("a", { id: "capture-download", download: name,
        href: URL.createObjectURL(new Blob(chunks, { type: "application/x-pcapng" })) }, "Download " + name);
      status.replaceChildren("Done: " + bytes(received) + ". ", link);
      link.click();
    } catch (error) {
      status.textContent = controller.signal.aborted ? "Stopped." : "Capture failed: " + error.message;
      status.className = "bad";
    } finally {
      clearInterval(ticker);
      progress.hidden = true;
      start.disabled = false;
      panel.dataset.running = "false";
    }
  }

  // ---- views

  const views = {
    overview: {
      load: async () => ({ summary: await loadSummary(), graphs: await api("graphs") }),
      draw: drawOverview,
    },
    peers: {
      load: async () => { if (!state.summary) await loadSummary(); return api(peersQuery()); },
      draw: drawPeers,
    },
    peer: {
      load: async (route) => {
        if (!state.summary) await loadSummary();
        const peer = await api("peers/" + encodeURIComponent(route.ip));
        peer.tcp = await api("tcp?remote_ip=" + encodeURIComponent(route.ip));
        return peer;
      },
      draw: drawPeer,
    },
    dependencies: {
      load: async () => ({ summary: state.summary || await loadSummary(), dependencies: await api("dependencies"), tcp: await api("tcp?limit=200") }),
      draw: drawDependencies,
    },
    services: {
      load: async () => { if (!state.summary) await loadSummary(); return api("services"); },
      draw: drawServices,
    },
  };

  document.getElementById("pause").addEventListener("click", (event) => {
    state.paused = !state.paused;
    event.target.textContent = state.paused ? "Resume" : "Pause";
    if (state.paused) clearTimeout(state.timer); else refresh();
  });
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => { if (state.last && state.route.view !== "peers") views[state.route.view].draw(state.last.data, state.route); }, 200);
  });
  window.addEventListener("hashchange", navigate);
  navigate();
})();
