// The dashboard's script, served at /_/app.js: renders the page from the state
// the server embedded, keeps it current from the live feed (/_/events, with
// polling while the feed is down), and runs calls through /rpc. Plain DOM, no
// framework; every registry value is put in the page as text, never as HTML.
// (Written without template literals: it lives in one.)
export const APP = String.raw`
(function () {
  "use strict";

  var page = document.body.getAttribute("data-page");
  var main = document.getElementById("main");
  var stateEl = document.getElementById("state");
  var state = stateEl ? JSON.parse(stateEl.textContent || "null") : null;
  var params = new URLSearchParams(location.search);

  // ---- small helpers ---------------------------------------------------------------

  function h(tag, props, kids) {
    var el = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") el.textContent = v;
        else if (k === "class") el.className = v;
        else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? "" : String(v));
      });
    }
    (kids || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return el;
  }

  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  function title(s) { return s ? s.charAt(0).toUpperCase() + s.slice(1) : s; }

  function chips(md) {
    var keys = Object.keys(md || {}).sort();
    if (keys.length === 0) return h("span", { class: "hint", text: "none" });
    return h("span", null, keys.map(function (k) {
      return h("span", { class: "chip mono", title: k + "=" + md[k] }, [h("b", { text: k }), "=" + md[k]]);
    }));
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" }).then(function (r) {
      return r.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = { detail: text }; }
        if (!r.ok) { var err = new Error((body && body.detail) || (r.status + " " + r.statusText)); err.status = r.status; throw err; }
        return body;
      });
    });
  }

  function toast(text, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var t = h("div", { class: "toast" + (kind ? " " + kind : ""), role: "status", text: text });
    box.appendChild(t);
    setTimeout(function () { t.remove(); }, 5000);
    while (box.children.length > 4) box.firstChild.remove();
  }

  function setMain(nodes) {
    main.replaceChildren.apply(main, nodes.filter(Boolean));
  }

  function errorBox(text) { return h("div", { class: "error-box", role: "alert", text: text }); }

  // ---- calls through /rpc -------------------------------------------------------------

  function pretty(text) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
  }

  function showResult(out, ok, status, text) {
    out.replaceChildren(
      h("div", { class: "status" }, [h("span", { text: status })]),
      h("pre", { class: "mono", tabindex: "0", text: text })
    );
    out.className = "result " + (ok ? "ok" : "error");
    out.hidden = false;
  }

  // Runs one call; shows the answer (or the error, go-micro's fields spelled out) in out.
  function call(opts, out, button) {
    var request;
    try { request = opts.request.trim() === "" ? {} : JSON.parse(opts.request); }
    catch (e) { showResult(out, false, "Not sent", "The request is not valid JSON: " + e.message); return Promise.resolve(); }
    var headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (opts.metadata && opts.metadata.trim() !== "") {
      var md;
      try { md = JSON.parse(opts.metadata); } catch (e) { showResult(out, false, "Not sent", "The metadata is not valid JSON: " + e.message); return Promise.resolve(); }
      if (!md || typeof md !== "object" || Array.isArray(md)) { showResult(out, false, "Not sent", "The metadata must be a JSON object of strings"); return Promise.resolve(); }
      Object.keys(md).forEach(function (k) { headers[k] = String(md[k]); });
    }
    if (opts.timeout) headers.Timeout = String(opts.timeout);
    if (!opts.service) { showResult(out, false, "Not sent", "Choose a service"); return Promise.resolve(); }
    if (!opts.endpoint) { showResult(out, false, "Not sent", "Choose an endpoint"); return Promise.resolve(); }
    var started = performance.now();
    if (button) button.disabled = true;
    out.setAttribute("aria-busy", "true");
    return fetch("/rpc", {
      method: "POST",
      headers: headers,
      body: JSON.stringify({ service: opts.service, endpoint: opts.endpoint, request: request })
    }).then(function (r) {
      return r.text().then(function (text) {
        var ms = Math.round(performance.now() - started) + " ms";
        if (r.ok) { showResult(out, true, r.status + " " + (r.statusText || "OK") + " · " + ms, pretty(text) || "(empty response)"); return; }
        var e = null;
        try { e = JSON.parse(text); } catch (x) { e = null; }
        if (e && typeof e === "object" && (e.detail || e.id)) {
          showResult(out, false, (e.code || r.status) + " " + (e.status || r.statusText) + (e.id ? " · " + e.id : "") + " · " + ms,
            (e.detail || "") + "\n\n" + JSON.stringify(e, null, 2));
        } else {
          showResult(out, false, r.status + " " + r.statusText + " · " + ms, text || "(no body)");
        }
      });
    }).catch(function (err) {
      showResult(out, false, "Network error", String(err && err.message || err));
    }).finally(function () {
      if (button) button.disabled = false;
      out.removeAttribute("aria-busy");
    });
  }

  // A request editor with a Call button, for one endpoint of one service.
  function callPanel(service, endpoint) {
    var id = "req-" + endpoint.name.replace(/[^a-zA-Z0-9]/g, "-");
    var area = h("textarea", { id: id, class: "request", spellcheck: "false", rows: "6", "aria-describedby": id + "-hint" });
    area.value = endpoint.example;
    var out = h("div", { class: "result", hidden: true, "aria-live": "polite" });
    var button = h("button", { type: "submit", text: "Call " + endpoint.name });
    var form = h("form", { class: "call", onsubmit: function (ev) {
      ev.preventDefault();
      call({ service: service, endpoint: endpoint.name, request: area.value }, out, button);
    } }, [
      h("label", { for: id, text: "Request" }),
      area,
      h("div", { class: "actions" }, [
        button,
        h("span", { class: "hint", id: id + "-hint" }, [h("kbd", { text: "Ctrl" }), " + ", h("kbd", { text: "Enter" }), " calls; sent through /rpc as JSON"])
      ]),
      out
    ]);
    area.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(); }
    });
    return form;
  }

  // ---- node changes: toasts and highlights --------------------------------------------

  var knownNodes = null; // "service|id" → address
  function nodesOf(view) {
    var m = {};
    if (!view) return m;
    if (view.services) view.services.forEach(function (s) { (s.nodes || []).forEach(function (n) { m[s.name + "|" + n.id] = n.address; }); });
    if (view.versions) view.versions.forEach(function (v) { (v.nodes || []).forEach(function (n) { m[view.name + "|" + n.id] = n.address; }); });
    return m;
  }
  // Compares with what was shown before: returns the keys that are new.
  function diffNodes(view) {
    var now = nodesOf(view);
    var fresh = {};
    if (knownNodes) {
      Object.keys(now).forEach(function (k) {
        if (!(k in knownNodes)) { fresh[k] = true; toast("Node joined " + k.split("|")[0] + " at " + now[k]); }
      });
      Object.keys(knownNodes).forEach(function (k) {
        if (!(k in now)) toast("Node left " + k.split("|")[0] + " (" + knownNodes[k] + ")", "gone");
      });
    }
    knownNodes = now;
    return fresh;
  }

  // ---- pages ---------------------------------------------------------------------------------

  function searchBox(placeholder, onFilter) {
    var input = h("input", { type: "search", class: "search", id: "search", placeholder: placeholder, "aria-label": placeholder, autocomplete: "off" });
    input.addEventListener("input", function () { onFilter(input.value.trim().toLowerCase()); });
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") {
        var first = main.querySelector("[data-filter]:not([hidden]) a[href]");
        if (first) location.href = first.getAttribute("href");
      }
      if (ev.key === "Escape") { input.value = ""; onFilter(""); }
    });
    return input;
  }

  function applyFilter(q) {
    main.querySelectorAll("[data-filter]").forEach(function (el) {
      el.hidden = q !== "" && el.getAttribute("data-filter").toLowerCase().indexOf(q) < 0;
    });
  }

  function appCards(apps) {
    if (apps.length === 0) return null;
    return h("section", { "aria-labelledby": "apps-h" }, [
      h("h2", { id: "apps-h", text: "Web apps" }),
      h("div", { class: "apps" }, apps.map(function (a) {
        return h("div", { "data-filter": a.alias + " " + a.name, "data-app": a.alias }, [
          h("a", { class: "app panel", href: a.link }, [
            h("span", { class: "icon", "aria-hidden": "true", text: a.alias.charAt(0).toUpperCase() }),
            h("span", { class: "name", text: title(a.alias) }),
            h("span", { class: "meta", text: plural(a.nodes, "node", "nodes") })
          ])
        ]);
      }))
    ]);
  }

  function emptyRegistry() {
    return h("div", { class: "panel empty" }, [
      h("p", { text: "No services are registered yet." }),
      h("p", null, ["Start one, e.g. ", h("code", { text: "npx tsx examples/greeter/srv/main.ts" }), " — it shows up here by itself."])
    ]);
  }

  function servicesTable(view, fresh) {
    if (view.services.length === 0) return emptyRegistry();
    return h("div", { class: "panel" }, [h("table", null, [
      h("thead", null, [h("tr", null, [
        h("th", { scope: "col", text: "Service" }), h("th", { scope: "col", text: "Versions" }),
        h("th", { scope: "col", text: "Nodes" }), h("th", { scope: "col", class: "num", text: "Endpoints" })
      ])]),
      h("tbody", null, view.services.map(function (s) {
        var isNew = (s.nodes || []).some(function (n) { return fresh[s.name + "|" + n.id]; });
        return h("tr", { "data-filter": s.name, "data-service": s.name, class: isNew ? "flash" : null }, [
          h("td", { class: "wrap" }, [
            h("a", { href: "/service/" + encodeURIComponent(s.name), text: s.name }),
            s.link ? " " : null,
            s.link ? h("a", { class: "badge web", href: s.link, title: "Open the web app", text: "web app" }) : null
          ]),
          h("td", null, s.versions.map(function (v) { return h("span", { class: "badge", text: v || "(none)" }); })),
          h("td", null, [
            h("span", { class: "badge " + (s.nodes.length ? "ok" : ""), "data-nodes": String(s.nodes.length), text: plural(s.nodes.length, "node", "nodes") }),
            " ",
            h("span", { class: "hint mono", text: s.nodes.map(function (n) { return n.address; }).join("  ") })
          ]),
          h("td", { class: "num", text: String(s.endpoints) })
        ]);
      }))
    ])]);
  }

  // Re-renders fn's part of the page; whatever had the focus there gets it back.
  function keepFocus(fn) {
    var a = document.activeElement, key = null;
    if (a && a !== document.body && main.contains(a)) {
      if (a.id) key = "#" + CSS.escape(a.id);
      else if (a.getAttribute("href")) key = "[href=\"" + CSS.escape(a.getAttribute("href")) + "\"]";
    }
    fn();
    if (key && !main.contains(a)) { var b = main.querySelector(key); if (b) b.focus(); }
  }

  var parts = null; // the containers a page re-renders into

  function renderHome(view, fresh) {
    if (!parts) {
      parts = { summary: h("p", { class: "sub", id: "summary" }), apps: h("div"), services: h("section", { "aria-labelledby": "services-h" }) };
      parts.search = searchBox("Filter services and web apps", applyFilter);
      setMain([h("h1", { text: "Micro Web" }), parts.summary, parts.search, parts.apps, parts.services]);
      parts.search.focus();
    }
    parts.summary.textContent = plural(view.services.length, "service", "services") + " · " +
      plural(view.services.reduce(function (n, s) { return n + s.nodes.length; }, 0), "node", "nodes") + " · web apps from " + view.namespace;
    keepFocus(function () {
      parts.apps.replaceChildren.apply(parts.apps, [appCards(view.webApps)].filter(Boolean));
      parts.services.replaceChildren(h("h2", { id: "services-h", text: "Services" }), servicesTable(view, fresh));
    });
    applyFilter(parts.search.value.trim().toLowerCase());
  }

  function serviceCard(s, fresh) {
    return h("section", { class: "panel", "data-filter": s.name, "data-service": s.name }, [
      h("div", { class: "pad row" }, [
        h("h3", { class: "wrap" }, [h("a", { href: "/service/" + encodeURIComponent(s.name), text: s.name })]),
        s.link ? h("a", { class: "badge web", href: s.link, text: "web app" }) : null,
        h("span", { class: "spacer" }),
        h("span", { class: "badge " + (s.nodes.length ? "ok" : ""), text: plural(s.nodes.length, "node", "nodes") }),
        h("span", { class: "badge", text: plural(s.endpoints, "endpoint", "endpoints") })
      ]),
      nodeTable(s.nodes, s.name, fresh, true)
    ]);
  }

  function nodeTable(nodes, service, fresh, withVersion) {
    if (nodes.length === 0) return h("p", { class: "pad hint", text: "No nodes right now. This updates when one registers." });
    return h("table", null, [
      h("thead", null, [h("tr", null, [
        h("th", { scope: "col", text: "Address" }), withVersion ? h("th", { scope: "col", text: "Version" }) : null,
        h("th", { scope: "col", text: "Id" }), h("th", { scope: "col", text: "Metadata" })
      ])]),
      h("tbody", null, nodes.map(function (n) {
        return h("tr", { "data-node": n.id, class: fresh[service + "|" + n.id] ? "flash" : null }, [
          h("td", { class: "mono", text: n.address }),
          withVersion ? h("td", null, [h("span", { class: "badge", text: n.version || "(none)" })]) : null,
          h("td", { class: "mono wrap", text: n.id }),
          h("td", null, [chips(n.metadata)])
        ]);
      }))
    ]);
  }

  function renderServices(view, fresh) {
    if (!parts) {
      parts = { summary: h("p", { class: "sub", id: "summary" }), cards: h("div", { class: "versions" }) };
      parts.search = searchBox("Filter services", applyFilter);
      setMain([h("h1", { text: "Services" }), parts.summary, parts.search, parts.cards]);
      parts.search.focus();
    }
    parts.summary.textContent = plural(view.services.length, "service", "services") + " in the registry, with their nodes";
    keepFocus(function () {
      if (view.services.length === 0) parts.cards.replaceChildren(emptyRegistry());
      else parts.cards.replaceChildren.apply(parts.cards, view.services.map(function (s) { return serviceCard(s, fresh); }));
    });
    applyFilter(parts.search.value.trim().toLowerCase());
  }

  var endpointsSignature = null;

  function renderService(view, fresh, missing) {
    var nodes = view.versions.reduce(function (n, v) { return n + v.nodes.length; }, 0);
    var head = [
      h("nav", { class: "hint", "aria-label": "Breadcrumb" }, [h("a", { href: "/services", text: "Services" }), " / "]),
      h("h1", { text: view.name }),
      h("div", { class: "row sub" }, [
        h("span", { class: "badge " + (nodes ? "ok" : ""), id: "node-count", text: plural(nodes, "node", "nodes") }),
        h("span", null, view.versions.map(function (v) { return h("span", { class: "badge", text: "version " + (v.version || "(none)") }); })),
        view.link ? h("a", { class: "button", href: view.link, text: "Open web app" }) : null,
        h("a", { href: "/client?service=" + encodeURIComponent(view.name), text: "Open in the call form" })
      ]),
      missing ? errorBox("This service has no nodes in the registry right now. The page updates when one registers.") : null,
      h("h2", { id: "nodes-h", text: "Nodes" }),
      h("div", { class: "versions", "aria-labelledby": "nodes-h" }, view.versions.map(function (v) {
        return h("div", { class: "panel", "data-version": v.version }, [
          h("div", { class: "pad row" }, [h("h3", { text: "Version " + (v.version || "(none)") }),
            Object.keys(v.metadata || {}).length ? chips(v.metadata) : null]),
          nodeTable(v.nodes, view.name, fresh, false)
        ]);
      }))
    ];
    if (!parts) {
      parts = { head: h("div"), endpoints: h("section", { "aria-labelledby": "endpoints-h" }) };
      setMain([parts.head, parts.endpoints]);
    }
    keepFocus(function () { parts.head.replaceChildren.apply(parts.head, head.filter(Boolean)); });
    // The endpoints (and any request being edited) stay as they are unless they changed.
    var sig = JSON.stringify(view.endpoints);
    if (sig !== endpointsSignature) {
      endpointsSignature = sig;
      parts.endpoints.replaceChildren.apply(parts.endpoints, [
        h("h2", { id: "endpoints-h", text: "Endpoints" }),
        view.endpoints.length === 0 ? h("p", { class: "hint", text: "This service advertises no endpoints." }) :
          h("div", { class: "endpoints" }, view.endpoints.map(function (e) {
            return h("details", { class: "endpoint panel", open: view.endpoints.length <= 6, "data-endpoint": e.name }, [
              h("summary", null, [h("span", { class: "mono", text: e.name }), Object.keys(e.metadata).length ? chips(e.metadata) : null]),
              h("div", { class: "body" }, [
                h("div", { class: "shapes" }, [
                  h("div", { class: "shape" }, [h("h4", { text: "Request" }), h("pre", { class: "mono request-shape", text: e.request })]),
                  h("div", { class: "shape" }, [h("h4", { text: "Response" }), h("pre", { class: "mono response-shape", text: e.response })])
                ]),
                callPanel(view.name, e)
              ])
            ]);
          })),
        h("details", { class: "panel cli" }, [
          h("summary", { class: "pad", text: "As micro get service prints it" }),
          h("pre", { class: "mono", text: view.cli })
        ])
      ]);
    }
  }

  // The call form: services and endpoints from the registry, any endpoint by name.
  var client = null;
  function renderClient(view) {
    var names = view.services.map(function (s) { return s.name; });
    if (!client) {
      client = {};
      client.service = h("select", { id: "service", name: "service" });
      client.endpoint = h("select", { id: "endpoint", name: "endpoint" });
      client.other = h("input", { type: "text", id: "other", class: "mono", placeholder: "Service.Method", "aria-label": "Endpoint name" });
      client.otherWrap = h("div", { hidden: true }, [h("label", { for: "other", text: "Endpoint name" }), client.other]);
      client.metadata = h("input", { type: "text", id: "metadata", class: "mono", placeholder: "{\"X-User\": \"ann\"}" });
      client.timeout = h("input", { type: "number", id: "timeout", min: "1", step: "1", placeholder: "client default" });
      client.request = h("textarea", { id: "request", class: "mono", rows: "10", spellcheck: "false" });
      client.request.value = "{}";
      client.lastExample = "{}";
      client.out = h("div", { class: "result", hidden: true, "aria-live": "polite" });
      client.button = h("button", { type: "submit", text: "Call" });
      client.endpoints = {};
      var form = h("form", { class: "panel pad", "aria-label": "Call a service", onsubmit: function (ev) {
        ev.preventDefault();
        var ep = client.endpoint.value === "__other" ? client.other.value.trim() : client.endpoint.value;
        call({ service: client.service.value, endpoint: ep, request: client.request.value, metadata: client.metadata.value, timeout: client.timeout.value }, client.out, client.button);
      } }, [
        h("label", { for: "service", text: "Service" }), client.service,
        h("label", { for: "endpoint", text: "Endpoint" }), client.endpoint,
        client.otherWrap,
        h("label", { for: "metadata", text: "Metadata (JSON object, sent as headers)" }), client.metadata,
        h("label", { for: "timeout", text: "Timeout (seconds)" }), client.timeout,
        h("label", { for: "request", text: "Request (JSON)" }), client.request,
        h("div", { class: "row", style: null }, [client.button, h("span", { class: "hint" }, [h("kbd", { text: "Ctrl" }), " + ", h("kbd", { text: "Enter" })])])
      ]);
      client.request.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(); }
      });
      client.service.addEventListener("change", function () { loadEndpoints(); });
      client.endpoint.addEventListener("change", function () { endpointChosen(); });
      var copy = h("button", { type: "button", class: "secondary", text: "Copy", onclick: function () {
        var pre = client.out.querySelector("pre");
        if (pre && navigator.clipboard) navigator.clipboard.writeText(pre.textContent).then(function () { toast("Copied the response"); }, function () {});
      } });
      setMain([
        h("h1", { text: "Client" }),
        h("p", { class: "sub", text: "Call any endpoint of any service, as micro call does; the call goes through /rpc." }),
        h("div", { class: "client" }, [form, h("section", { class: "panel pad", "aria-label": "Response" }, [
          h("div", { class: "row" }, [h("h2", { style: null, text: "Response" }), h("span", { class: "spacer" }), copy]),
          client.out,
          h("p", { class: "hint", id: "response-empty", text: "The response shows here." })
        ])])
      ]);
    }
    // (Re)fill the service list, keeping the choice.
    var chosen = client.service.value || params.get("service") || "";
    client.service.replaceChildren.apply(client.service, [h("option", { value: "", text: "— choose a service —" })].concat(
      names.concat(chosen && names.indexOf(chosen) < 0 ? [chosen] : []).map(function (n) { return h("option", { value: n, text: n }); })));
    client.service.value = chosen;
    if (chosen && !client.loaded) { client.loaded = true; loadEndpoints(params.get("endpoint")); }
  }

  function loadEndpoints(want) {
    var name = client.service.value;
    client.endpoint.replaceChildren(h("option", { value: "", text: name ? "loading…" : "— choose a service first —" }));
    if (!name) return;
    getJSON("/_/state/service/" + encodeURIComponent(name)).then(function (view) {
      fillEndpoints(view.endpoints, want);
    }, function () { fillEndpoints([], want); });
  }

  function fillEndpoints(endpoints, want) {
    client.endpoints = {};
    endpoints.forEach(function (e) { client.endpoints[e.name] = e; });
    var opts = [h("option", { value: "", text: endpoints.length ? "— choose an endpoint —" : "— no advertised endpoints —" })]
      .concat(endpoints.map(function (e) { return h("option", { value: e.name, text: e.name }); }))
      .concat([h("option", { value: "__other", text: "Other…" })]);
    client.endpoint.replaceChildren.apply(client.endpoint, opts);
    if (want && client.endpoints[want]) client.endpoint.value = want;
    else if (want) { client.endpoint.value = "__other"; client.other.value = want; }
    else if (endpoints.length === 1) client.endpoint.value = endpoints[0].name;
    endpointChosen();
  }

  function endpointChosen() {
    var v = client.endpoint.value;
    client.otherWrap.hidden = v !== "__other";
    var e = client.endpoints[v];
    // Put the endpoint's request shape in, unless the user has written their own request.
    if (e && (client.request.value.trim() === "" || client.request.value === client.lastExample)) {
      client.request.value = e.example;
      client.lastExample = e.example;
    }
  }

  // ---- render + live ---------------------------------------------------------------------------------

  var stateURL = null;
  if (page === "home" || page === "services" || page === "client") stateURL = "/_/state";
  if (page === "service") stateURL = "/_/state/service/" + encodeURIComponent(state && state.name || "");

  var lastService = null;
  function render(view, missing) {
    var fresh = diffNodes(view);
    if (page === "home") renderHome(view, fresh);
    else if (page === "services") renderServices(view, fresh);
    else if (page === "client") renderClient(view);
    else if (page === "service") { lastService = view; renderService(view, fresh, missing); }
    document.body.setAttribute("data-rendered", String(Date.now()));
  }

  var refreshing = false, again = false, timer = null;
  function refresh() {
    if (!stateURL) return;
    if (refreshing) { again = true; return; }
    refreshing = true;
    getJSON(stateURL).then(function (view) { render(view, false); }, function (err) {
      if (page === "service" && err.status === 404 && lastService) {
        var gone = JSON.parse(JSON.stringify(lastService));
        gone.versions.forEach(function (v) { v.nodes = []; });
        render(gone, true);
      }
    }).finally(function () {
      refreshing = false;
      if (again) { again = false; refresh(); }
    });
  }
  function soon() { clearTimeout(timer); timer = setTimeout(refresh, 120); }

  var live = document.getElementById("live");
  function setLive(on) {
    if (!live) return;
    live.className = "live " + (on ? "on" : "off");
    live.textContent = on ? "live" : "reconnecting…";
    live.title = on ? "Updates as nodes come and go" : "The live feed is down: polling every 5 s";
  }
  var poll = null;
  function startPolling() { if (!poll) poll = setInterval(refresh, 5000); }
  function stopPolling() { clearInterval(poll); poll = null; }

  function connect() {
    if (!stateURL) { if (live) live.hidden = true; return; }
    if (!window.EventSource) { setLive(false); startPolling(); return; }
    var es = new EventSource("/_/events");
    es.addEventListener("open", function () { setLive(true); stopPolling(); soon(); });
    es.addEventListener("registry", soon);
    es.addEventListener("resync", soon);
    es.addEventListener("error", function () { setLive(false); startPolling(); });
    window.addEventListener("pagehide", function () { es.close(); });
  }

  // "/" jumps to the search box, as on many sites.
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if (ev.key === "/" && !typing) {
      var s = document.getElementById("search");
      if (s) { ev.preventDefault(); s.focus(); s.select(); }
    }
  });

  if (state && page !== "notfound") render(state, false);
  connect();
})();
`;
