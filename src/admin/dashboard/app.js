// portier dashboard: polls the JSON API (relative URLs, so it works behind a router that strips a
// prefix) and redraws its tables in place. No framework, no inline code (the page's CSP forbids
// it), no innerHTML with data: every name and error is set as text.
"use strict";

(() => {
  const POLL_MS = 2500;
  const $ = (id) => document.getElementById(id);

  // el("td", {class: "x", title: "y"}, child, "text", ...): null and undefined children are skipped.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  const badge = (text, cls) => el("span", { class: "badge " + cls, text });
  const statusBadge = (s) => badge(s || "unknown", "status-" + (s || "unknown"));
  const codeList = (items) =>
    (items || []).length ? items.map((x, i) => [i ? ", " : null, el("code", { text: x })]) : "-";

  async function getJSON(path) {
    const r = await fetch("../api/" + path, { cache: "no-store", headers: { Accept: "application/json" } });
    if (r.status === 404) return null;
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return r.json();
  }

  // The row of an object, with its errors (disabled) or warnings listed under the name.
  function errorList(obj) {
    const errs = obj.error || [];
    if (!errs.length) return null;
    return el("ul", { class: "errors" + (obj.status === "warning" ? " warning" : "") },
      errs.map((m) => el("li", { text: m })));
  }

  // Rows that do not contain the filter text are hidden (the filter matches any cell's text).
  function applyFilter() {
    const f = $("filter").value.trim().toLowerCase();
    for (const tr of document.querySelectorAll("tbody tr[data-name]")) {
      tr.classList.toggle("hidden", f !== "" && !tr.textContent.toLowerCase().includes(f));
    }
  }

  function fill(id, rows, emptyText, columns) {
    const body = $(id);
    if (!rows.length) {
      body.replaceChildren(el("tr", {}, el("td", { class: "empty", colspan: columns, text: emptyText })));
    } else {
      body.replaceChildren(...rows);
    }
    const count = body.closest("section").querySelector("h2 .count");
    if (count) count.textContent = "(" + rows.length + ")";
  }

  // --- overview -------------------------------------------------------------------------------

  function renderCounts(cardId, c) {
    const counts = $(cardId).querySelector(".counts");
    const total = c ? c.total : 0;
    const errors = c ? c.errors : 0;
    const warnings = c ? c.warnings : 0;
    counts.replaceChildren(
      el("span", { class: "total", text: total }),
      el("span", {}, badge(total - errors - warnings, "status-enabled"), " enabled"),
      el("span", {}, badge(warnings, "status-warning"), " warning"),
      el("span", {}, badge(errors, "status-disabled"), " disabled"));
  }

  function renderOverview(overview, entrypoints, providers) {
    const http = (overview && overview.http) || {};
    renderCounts("card-routers", http.routers);
    renderCounts("card-services", http.services);
    renderCounts("card-middlewares", http.middlewares);
    fill("entrypoints-body", (entrypoints || []).map((e) =>
      el("tr", { "data-name": e.name }, el("td", { text: e.name }), el("td", {}, el("code", { text: e.address })))),
      "no entrypoint", 2);
    fill("providers-body", (providers || []).map((p) =>
      el("tr", { "data-name": p.name },
        el("td", { text: p.name }),
        el("td", {}, statusBadge(p.status)),
        el("td", {}, (p.errors || []).length
          ? el("ul", { class: "errors" + (p.status === "warning" ? " warning" : "") },
            p.errors.map((e) => el("li", {
              text: (e.file ? e.file + (e.line ? ":" + e.line : "") + ": " : "") + e.message +
                " (since " + shortTime(e.since) + ")",
            })))
          : "-"))),
      "no provider", 3);
    const warnings = (overview && overview.static && overview.static.warnings) || [];
    const box = $("static-warnings");
    box.hidden = warnings.length === 0;
    box.querySelector("ul").replaceChildren(...warnings.map((w) => el("li", { text: w })));
  }

  // --- routers, services, middlewares -----------------------------------------------------------

  function renderRouters(routers) {
    fill("routers-body", (routers || []).map((r) => {
      const tls = r.tls ? [badge("TLS", "source"), r.tls.certResolver ? " " + r.tls.certResolver : null,
        r.tls.options ? " options: " + r.tls.options : null] : "-";
      return el("tr", { "data-name": r.name },
        el("td", {}, statusBadge(r.status)),
        el("td", {}, el("strong", { text: r.name }), errorList(r)),
        el("td", {}, el("code", { class: "rule", text: r.rule })),
        el("td", {}, codeList(r.entryPoints)),
        el("td", {}, el("code", { text: r.service })),
        el("td", {}, codeList(r.middlewares)),
        el("td", {}, tls),
        el("td", { class: "num", text: r.priority }));
    }), "no router", 8);
  }

  function servers(s) {
    if (s.loadBalancer) {
      const status = s.serverStatus || {};
      const inFlight = s.serverInFlight || {};
      const list = s.loadBalancer.servers || [];
      if (!list.length) return "-";
      return list.map((srv) => {
        const health = status[srv.url];
        return el("div", { class: "server" },
          el("code", { text: srv.url }),
          health ? badge(health, "health-" + health.toLowerCase()) : null,
          " ", el("span", { class: "muted", text: (inFlight[srv.url] || 0) + " in flight" }),
          srv.weight !== undefined && srv.weight !== 1 ? el("span", { class: "muted", text: " weight " + srv.weight }) : null);
      });
    }
    if (s.weighted) return s.weighted.services.map((c) => el("div", {}, el("code", { text: c.name }), " weight " + c.weight));
    if (s.failover) return [el("div", {}, "main ", el("code", { text: s.failover.service })),
      el("div", {}, "fallback ", el("code", { text: s.failover.fallback }))];
    if (s.mirroring) return [el("div", {}, "main ", el("code", { text: s.mirroring.service })),
      ...s.mirroring.mirrors.map((m) => el("div", {}, "mirror ", el("code", { text: m.name }), " " + m.percent + "%"))];
    return "-";
  }

  function renderServices(services) {
    fill("services-body", (services || []).map((s) =>
      el("tr", { "data-name": s.name },
        el("td", {}, statusBadge(s.status)),
        el("td", {}, el("strong", { text: s.name }), errorList(s)),
        el("td", { text: s.type || (s.provider === "internal" ? "internal" : "-") }),
        el("td", {}, servers(s)),
        el("td", {}, codeList(s.usedBy)))),
    "no service", 5);
  }

  function renderMiddlewares(middlewares) {
    fill("middlewares-body", (middlewares || []).map((m) =>
      el("tr", { "data-name": m.name },
        el("td", {}, statusBadge(m.status)),
        el("td", {}, el("strong", { text: m.name }), errorList(m)),
        el("td", {}, el("code", { text: m.type || "-" })),
        el("td", {}, codeList(m.usedBy)))),
    "no middleware", 4);
  }

  // --- certificates ------------------------------------------------------------------------------

  function shortTime(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  function expiry(iso) {
    const days = Math.floor((new Date(iso) - Date.now()) / 86400000);
    const cls = days < 0 ? "expired" : days < 14 ? "soon" : "state-valid";
    return [el("div", { text: iso.slice(0, 10) }),
      badge(days < 0 ? "expired " + -days + " d ago" : "in " + days + " d", cls)];
  }

  function renderCertificates(certs) {
    fill("certificates-body", (certs || []).map((c) => {
      const acme = c.acme
        ? [el("div", {}, el("code", { text: c.acme.resolver }), " ", badge(c.acme.state, "state-" + c.acme.state)),
          c.acme.lastError ? el("ul", { class: "errors" }, el("li", {
            text: c.acme.lastError + (c.acme.failures ? " (" + c.acme.failures + " failures)" : ""),
          })) : null,
          c.acme.nextAttempt ? el("div", { class: "muted", text: "next: " + shortTime(c.acme.nextAttempt) }) : null]
        : "-";
      return el("tr", { "data-name": c.main || "(default)" },
        el("td", {}, el("strong", { text: c.main || "(no name)" })),
        el("td", {}, codeList(c.sans)),
        el("td", {}, badge(c.source, "source"), c.default ? [" ", badge("default", "source")] : null),
        el("td", {}, c.issuer ? el("code", { text: c.issuer }) : el("span", { class: "muted", text: "not issued yet" })),
        el("td", {}, c.notAfter ? expiry(c.notAfter) : "-"),
        el("td", {}, acme));
    }), "no certificate", 6);
  }

  // --- traffic: rates by differencing successive cumulative samples ------------------------------

  const CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"];
  let previous = null;  // the last /api/portier/traffic answer

  function delta(now, before) {
    const out = { requests: now.requests - ((before && before.requests) || 0), status: {} };
    for (const c of CLASSES) {
      out.status[c] = ((now.status || {})[c] || 0) - (((before && before.status) || {})[c] || 0);
    }
    return out;
  }

  function trafficRows(kind, now, before, dt) {
    return Object.keys(now || {}).sort().map((name) => {
      const cur = now[name];
      const d = before ? delta(cur, (before || {})[name]) : null;
      const rate = (n) => (d && dt > 0 ? (n / dt).toFixed(2) : "-");
      const bar = el("div", { class: "bar", title: "share of status classes since the last poll" });
      if (d && d.requests > 0) {
        for (const c of CLASSES) {
          if (!d.status[c]) continue;
          const part = el("span", { class: "c" + c, title: c + ": " + d.status[c] });
          part.style.width = ((100 * d.status[c]) / d.requests).toFixed(1) + "%";
          bar.append(part);
        }
      }
      return el("tr", { "data-name": name },
        el("td", { class: "muted", text: kind }),
        el("td", {}, el("strong", { text: name })),
        el("td", { class: "num", text: rate(d ? d.requests : 0) }),
        el("td", { class: "num", text: cur.requests }),
        ...["2xx", "3xx", "4xx", "5xx"].map((c) => el("td", { class: "num", text: rate(d ? d.status[c] : 0) })),
        el("td", {}, bar),
        el("td", { class: "num", text: cur.openConnections !== undefined ? cur.openConnections : "" }));
    });
  }

  function renderTraffic(traffic) {
    const available = traffic && typeof traffic === "object" && "uptimeSeconds" in traffic;
    $("traffic-empty").hidden = available;
    $("traffic-data").hidden = !available;
    if (!available) {
      previous = null;
      $("traffic-note").textContent = "";
      return;
    }
    // A restart (uptime went back) starts the differences over.
    const before = previous && previous.uptimeSeconds < traffic.uptimeSeconds ? previous : null;
    const dt = before ? traffic.uptimeSeconds - before.uptimeSeconds : 0;
    const rows = [
      ...trafficRows("entrypoint", traffic.entryPoints, before && before.entryPoints, dt),
      ...trafficRows("router", traffic.routers, before && before.routers, dt),
      ...trafficRows("service", traffic.services, before && before.services, dt),
    ];
    fill("traffic-body", rows, "no request yet", 10);
    $("traffic-note").textContent = "(up " + Math.round(traffic.uptimeSeconds) + " s" +
      (before ? ", rates over the last " + dt.toFixed(1) + " s)" : ", rates from the next poll)");
    previous = traffic;
  }

  // --- polling ------------------------------------------------------------------------------------

  async function poll() {
    try {
      const overview = await getJSON("overview");
      const trafficAvailable = !!(overview && overview.traffic && overview.traffic.available);
      const [entrypoints, providers, routers, services, middlewares, certificates, traffic, version] =
        await Promise.all([
          getJSON("entrypoints"), getJSON("providers"), getJSON("http/routers"),
          getJSON("http/services"), getJSON("http/middlewares"), getJSON("portier/certificates"),
          // Asked for only when served, so the browser logs no 404 for it.
          trafficAvailable ? getJSON("portier/traffic") : Promise.resolve(null),
          getJSON("version"),
        ]);
      renderOverview(overview, entrypoints, providers);
      renderRouters(routers);
      renderServices(services);
      renderMiddlewares(middlewares);
      renderCertificates(certificates);
      renderTraffic(traffic);
      applyFilter();
      $("version").textContent = version && version.Version ? version.Version : "";
      // Which of several instances this is (api.dashboardName, else the host name).
      const instance = overview && overview.instance ? overview.instance.name : "";
      $("instance").textContent = instance || "";
      document.title = instance ? "portier dashboard: " + instance : "portier dashboard";
      $("banner").hidden = true;
      const live = $("live");
      live.className = "live ok";
      live.textContent = "live, updated " + new Date().toLocaleTimeString();
    } catch (e) {
      const banner = $("banner");
      banner.hidden = false;
      banner.textContent = "The API did not answer: " + e.message + ". Retrying...";
      $("live").className = "live down";
      $("live").textContent = "disconnected";
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  $("filter").addEventListener("input", applyFilter);
  poll();
})();
