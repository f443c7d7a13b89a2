// Visitor chat widget: <script src="https://gateway.example/chat/widget.js"></script>
// No dependencies. The gateway's address comes from this tag's src; every text is set with
// textContent, never parsed as HTML.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__intakeChat) return;
  window.__intakeChat = true;
  var base = new URL(script.src, location.href);
  var wsUrl = (base.protocol === "https:" ? "wss://" : "ws://") + base.host + "/chat/ws";
  var STORE = "intake-chat:" + base.host;
  var saved = load();
  var seen = {};
  var since = -1; // in memory: a reloaded page has nothing shown, so it asks for everything
  var ws = null, backoff = 500, queue = [];

  function load() {
    try { return JSON.parse(localStorage.getItem(STORE) || "{}") || {}; } catch (e) { return {}; }
  }
  function keep() {
    try { localStorage.setItem(STORE, JSON.stringify(saved)); } catch (e) { /* private mode */ }
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  var css = "position:fixed;right:16px;bottom:16px;z-index:2147483000;font:14px/1.4 system-ui,sans-serif";
  var root = el("div", { style: css });
  var open = el("button", { "data-testid": "chat-open", type: "button", "aria-expanded": "false",
    style: "padding:10px 16px;border-radius:20px;border:0;background:#2b6cb0;color:#fff;cursor:pointer" }, "Chat with us");
  var panel = el("div", { role: "dialog", "aria-label": "Chat", hidden: "",
    style: "width:320px;max-width:calc(100vw - 32px);height:420px;max-height:70vh;display:flex;" +
      "flex-direction:column;margin-bottom:8px;background:#fff;border:1px solid #ccd;border-radius:8px;box-shadow:0 4px 20px #0003" });
  var head = el("div", { style: "padding:8px 12px;background:#2b6cb0;color:#fff;border-radius:8px 8px 0 0" }, "Chat");
  var status = el("div", { "aria-live": "polite", style: "padding:4px 12px;font-size:12px;color:#555" });
  var list = el("div", { "data-testid": "chat-messages", "aria-live": "polite",
    style: "flex:1;overflow-y:auto;padding:8px 12px" });
  var offline = el("form", { hidden: "", style: "padding:8px 12px;border-top:1px solid #eee" });
  var email = el("input", { type: "email", placeholder: "Your e-mail", "aria-label": "Your e-mail",
    required: "", style: "width:65%" });
  offline.appendChild(el("div", {}, "We are offline; we'll answer by e-mail."));
  offline.appendChild(email);
  offline.appendChild(el("button", { type: "submit" }, "Save"));
  var form = el("form", { style: "display:flex;gap:4px;padding:8px;border-top:1px solid #eee" });
  var input = el("textarea", { "data-testid": "chat-input", rows: "2", "aria-label": "Message",
    maxlength: "4000", style: "flex:1;resize:none" });
  var send = el("button", { "data-testid": "chat-send", type: "submit" }, "Send");
  form.appendChild(input);
  form.appendChild(send);
  [head, status, list, offline, form].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(panel);
  root.appendChild(open);

  function show(visible) {
    if (visible) panel.removeAttribute("hidden"); else panel.setAttribute("hidden", "");
    panel.style.display = visible ? "flex" : "none";
    open.setAttribute("aria-expanded", String(visible));
    open.textContent = visible ? "Close chat" : "Chat with us";
    saved.open = visible;
    keep();
    if (visible) { connect(); input.focus(); }
  }
  open.addEventListener("click", function () { show(panel.hasAttribute("hidden")); });

  function render(frame) {
    var key = frame.from + ":" + frame.id;
    if (seen[key]) return;
    seen[key] = true;
    var mine = frame.from === "visitor";
    var item = el("div", { "data-testid": "chat-message", "data-from": mine ? "visitor" : "operator",
      style: "margin:4px 0;padding:6px 10px;border-radius:10px;max-width:85%;white-space:pre-wrap;" +
        (mine ? "margin-left:auto;background:#e2ecf8" : "background:#f1f1f1") });
    item.textContent = frame.text;
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
    if (typeof frame.id === "number" && frame.id > since) since = frame.id;
  }

  function frameIn(event) {
    var frame;
    try { frame = JSON.parse(event.data); } catch (e) { return; }
    if (frame.type === "welcome") {
      saved.session = frame.session;
      saved.case_id = frame.case_id;
      keep();
      backoff = 500;
      status.textContent = "";
      while (queue.length) ws.send(queue.shift());
    } else if (frame.type === "message") {
      render(frame);
    } else if (frame.type === "status") {
      if (frame.online) offline.setAttribute("hidden", ""); else offline.removeAttribute("hidden");
      status.textContent = frame.online ? "" : "Offline";
    } else if (frame.type === "error") {
      status.textContent = frame.message;
    }
  }

  function connect() {
    if (ws && ws.readyState <= 1) return;
    ws = new WebSocket(wsUrl);
    ws.onopen = function () {
      var hello = { type: "hello", since: since };
      if (saved.session) hello.session = saved.session;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = frameIn;
    ws.onclose = function () {
      status.textContent = "Reconnecting…";
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }

  function post(frame) {
    var data = JSON.stringify(frame);
    if (ws && ws.readyState === 1 && saved.session) ws.send(data); else { queue.push(data); connect(); }
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    post({ type: "message", text: text, id: Date.now().toString(36) + Math.random().toString(36).slice(2, 8) });
    input.value = "";
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  offline.addEventListener("submit", function (event) {
    event.preventDefault();
    post({ type: "hello", email: email.value });
    status.textContent = "Thank you, we'll write to " + email.value;
    offline.setAttribute("hidden", "");
  });

  function mount() {
    document.body.appendChild(root);
    panel.style.display = "none";
    if (saved.open || saved.session) show(!!saved.open);
    if (saved.session && !saved.open) connect();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
