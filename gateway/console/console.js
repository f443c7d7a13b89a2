// The operator console: plain JavaScript over the operator API (SPEC section 5).
// Every piece of customer text goes into the page through textContent / text nodes, never as
// markup; the page's Content-Security-Policy forbids inline script as a second line of defence.
"use strict";
(() => {
  const TOKEN_KEY = "intake.console.token";
  const SOUND_KEY = "intake.console.sound";
  const STREAM_SILENCE_MS = 40000; // the server sends a keep-alive every 15 s
  const $ = (id) => document.getElementById(id);
  const state = {
    token: null, me: null, cases: new Map(), open: null, openCase: null,
    unseen: new Set(), lastEventId: null, abort: null, skew: 0, audio: null,
  };

  // ---- DOM helpers: children are nodes or plain text, never HTML ----
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }
  const show = (node, visible) => { node.hidden = !visible; };

  function notice(text, kind) {
    const box = $("notice");
    box.textContent = text;
    box.className = `notice ${kind || ""}`;
    show(box, true);
    clearTimeout(notice.timer);
    notice.timer = setTimeout(() => show(box, false), 8000);
  }

  // ---- time ----
  const now = () => Date.now() + state.skew;
  const sameDay = (a, b) => a.toDateString() === b.toDateString();
  function when(iso) {
    if (!iso) return "";
    const moment = new Date(iso);
    const time = moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    if (sameDay(moment, new Date())) return time;
    return `${moment.toLocaleDateString([], { day: "numeric", month: "short" })} ${time}`;
  }
  function noteClock(response) {
    // The Date header has whole seconds: only a clearly wrong local clock is corrected.
    const server = Date.parse(response.headers.get("Date") || "");
    if (!Number.isNaN(server) && Math.abs(server - Date.now()) > 2000) state.skew = server - Date.now();
  }

  // ---- the API ----
  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error && body.error.message) || `The server answered ${status}.`);
      this.status = status;
      this.code = body && body.error && body.error.code;
    }
  }
  async function api(method, path, body) {
    const init = { method, headers: { Authorization: `Bearer ${state.token}` } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    noteClock(response);
    const data = await response.json().catch(() => null);
    if (response.status === 401 && state.me) signOut("Your token was refused: sign in again.");
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }
  const caseUrl = (id, action) => `api/cases/${encodeURIComponent(id)}${action ? `/${action}` : ""}`;
  const reportError = (error) => notice(error.message || String(error), "bad");

  // ---- sign in / out ----
  function tokenFromUrl() {
    const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (!match) return null;
    history.replaceState(null, "", location.pathname + location.search); // keep it out of history
    return decodeURIComponent(match[1]);
  }
  async function signIn(token) {
    state.token = token;
    let me;
    try {
      me = await api("GET", "api/me");
    } catch (error) {
      return showSignin(error.message);
    }
    if (!me.operator) return showSignin("That is the admin token: sign in with an operator's token.");
    state.me = me;
    sessionStorage.setItem(TOKEN_KEY, token);
    show($("signin"), false);
    show($("app"), true);
    const self = me.operators.find((o) => o.id === me.operator);
    $("who").textContent = self ? self.name : me.operator;
    fillTransferTargets();
    await startStream();
    await loadWork().catch(reportError);
  }
  function showSignin(message) {
    state.token = null;
    state.me = null;
    sessionStorage.removeItem(TOKEN_KEY);
    show($("app"), false);
    show($("signin"), true);
    $("signin-error").textContent = message || "";
    $("token").focus();
  }
  function signOut(message) {
    if (state.abort) state.abort.abort();
    state.cases.clear();
    state.unseen.clear();
    state.open = null;
    state.lastEventId = null;
    $("created").open = false;
    $("created-list").replaceChildren();
    showSignin(message);
  }

  // ---- my work ----
  async function loadWork() {
    const operator = await api("GET", `api/operators/${encodeURIComponent(state.me.operator)}`);
    $("presence").value = operator.presence;
    $("presence").dataset.presence = operator.presence;
    $("work-summary").textContent = `Load ${operator.load.total} of ${operator.capacity.total}`;
    state.cases = new Map(operator.cases.map((c) => [c.id, c]));
    for (const id of state.unseen) if (!state.cases.has(id)) state.unseen.delete(id);
    renderWork();
  }
  function ordered() {
    const offered = (c) => (c.offer ? 0 : 1);
    return [...state.cases.values()].sort((a, b) => offered(a) - offered(b)
      || (a.priority || 9) - (b.priority || 9) || String(a.created_at).localeCompare(String(b.created_at)));
  }
  function renderWork() {
    const list = $("work-list");
    list.replaceChildren(...ordered().map(workItem));
    show($("work-empty"), state.cases.size === 0);
    const badge = $("badge");
    badge.textContent = String(state.unseen.size);
    badge.setAttribute("aria-label", `${state.unseen.size} new`);
    show(badge, state.unseen.size > 0);
    document.title = state.unseen.size ? `(${state.unseen.size}) Operator console` : "Operator console";
    tickOffers();
  }
  function workItem(c) {
    const classes = ["case-item", c.id === state.open ? "current" : "", state.unseen.has(c.id) ? "unseen" : ""];
    const open = el("button", { type: "button", class: "open", onclick: () => openCase(c.id) },
      el("span", { class: "line" },
        el("span", { class: "num", text: `#${c.id}` }),
        el("span", { class: `chip ch-${c.channel}`, text: c.channel }),
        el("span", { class: `status st-${c.status}`, text: c.offer ? "Offered" : statusName(c.status) }),
        state.unseen.has(c.id) ? el("span", { class: "dot", text: "new" }) : null),
      el("span", { class: "subject", text: c.subject || "" }),
      el("span", { class: "muted small", text: `${c.service} · P${c.priority ?? "?"} · ${when(c.created_at)}` }));
    return el("li", { class: classes.join(" "), "data-testid": "case-item", "data-case-id": c.id },
      open, c.offer ? offerBox(c) : null);
  }
  function offerBox(c) {
    return el("div", { class: "offer", role: "group", "aria-label": `Offer for case ${c.id}` },
      el("span", { class: "countdown", "data-expires": c.offer.expires_at }),
      el("button", { type: "button", class: "primary", "data-testid": "offer-accept",
        onclick: () => acceptOffer(c) }, "Accept"),
      el("button", { type: "button", "data-testid": "offer-decline", onclick: () => declineOffer(c) }, "Decline"));
  }
  function tickOffers() {
    for (const box of document.querySelectorAll(".countdown[data-expires]")) {
      const left = Math.ceil((Date.parse(box.dataset.expires) - now()) / 1000);
      box.textContent = left > 0 ? `${left} s left` : "Offer expired";
      box.classList.toggle("urgent", left <= 5);
      const accept = box.parentElement.querySelector("[data-testid=offer-accept]");
      if (accept) accept.disabled = left <= 0;
    }
  }
  async function acceptOffer(c) {
    try {
      const accepted = await api("POST", caseUrl(c.id, "accept"), { offer_id: c.offer.offer_id });
      state.cases.set(accepted.id, accepted);
      renderWork();
      openCase(accepted.id);
    } catch (error) {
      reportError(error);
      await loadWork().catch(reportError);
    }
  }
  async function declineOffer(c) {
    try {
      await api("POST", caseUrl(c.id, "decline"));
    } catch (error) {
      reportError(error);
    }
    await loadWork().catch(reportError);
  }
  const statusName = (status) => ({
    queued: "Queued", assigned: "Assigned", in_progress: "In progress", waiting: "Waiting", resolved: "Resolved",
  })[status] || String(status);

  // ---- live events (SSE read through fetch: EventSource cannot send the bearer token) ----
  async function startStream() {
    let connected;
    const ready = new Promise((resolve) => { connected = resolve; });
    runStream(connected);
    // The list is read once the stream is open, so nothing falls between the two.
    await Promise.race([ready, new Promise((resolve) => setTimeout(resolve, 5000))]);
  }
  async function runStream(connected) {
    let delay = 1000;
    let first = true;
    while (state.me) {
      const abort = new AbortController();
      state.abort = abort;
      try {
        const headers = { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" };
        if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
        const url = `api/operators/${encodeURIComponent(state.me.operator)}/events`;
        const response = await fetch(url, { headers, signal: abort.signal, cache: "no-store" });
        if (response.status === 401) return signOut("Your token was refused: sign in again.");
        if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
        setLink(true);
        connected();
        if (!first) loadWork().catch(reportError); // changes made by others while we were away
        first = false;
        delay = 1000;
        await readEvents(response.body, abort, onEvent);
      } catch (error) {
        if (!state.me || abort.signal.aborted && state.abort !== abort) return;
      }
      setLink(false);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }
  async function readEvents(body, abort, handle) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let event = {};
    let heard = Date.now();
    const watchdog = setInterval(() => { if (Date.now() - heard > STREAM_SILENCE_MS) abort.abort(); }, 5000);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        heard = Date.now();
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, end).replace(/\r$/, "");
          buffer = buffer.slice(end + 1);
          if (line === "") {
            dispatch(event, handle);
            event = {};
          } else if (!line.startsWith(":")) {
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            const data = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "data") event.data = event.data === undefined ? data : `${event.data}\n${data}`;
            else if (field === "event" || field === "id") event[field] = data;
          }
        }
      }
    } finally {
      clearInterval(watchdog);
    }
  }
  function dispatch(event, handle) {
    if (event.id) state.lastEventId = event.id;
    if (event.data === undefined) return;
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    handle(event.event || "message", data);
  }
  function setLink(up) {
    const link = $("link");
    link.textContent = up ? "Live" : "Reconnecting…";
    link.className = `link ${up ? "up" : "down"}`;
  }
  function onEvent(kind, data) {
    const id = data.case_id;
    if (kind === "assigned" || kind === "offered") arrive(id).catch(reportError);
    else if (kind === "revoked") revoked(id, data.reason);
    else if (kind === "message") newMessage(id);
    else if (kind === "case_updated" && id === state.open) {
      if (data.change && data.by !== state.me.operator) editedElsewhere(data);
      else refreshCase();
    }
    else if (kind === "sla_warning" || kind === "sla_breach") {
      notice(`Case #${id}: ${kind === "sla_breach" ? "an SLA deadline was missed" : "an SLA deadline is near"}.`, "warn");
      refreshItem(id);
    }
  }
  async function arrive(id) {
    state.unseen.add(id);
    await loadWork(); // the new case with the load it adds
    ding();
  }
  function revoked(id, reason) {
    state.cases.delete(id);
    state.unseen.delete(id);
    renderWork();
    const why = reason === "expired" ? "the offer expired" : `it was taken back (${reason || "by routing"})`;
    notice(`Case #${id} left your work: ${why}.`, "warn");
  }
  function newMessage(id) {
    if (id === state.open) refreshCase();
    else state.unseen.add(id);
    renderWork();
    ding();
  }
  function editedElsewhere(data) {
    const box = $("case-edited");
    const field = String(data.change).replace(/,/g, ", ");
    box.textContent = `Changed by ${data.by ? operatorName(data.by) : "someone else"}: ${field}. The case was reloaded.`;
    show(box, true);
    refreshCase();
  }
  async function refreshItem(id) {
    if (!state.cases.has(id)) return;
    const found = await api("GET", caseUrl(id)).catch(() => null);
    if (found) {
      delete found.timeline;
      state.cases.set(id, found);
      renderWork();
    }
  }

  // ---- sound: a short tone made here (no audio file to download) ----
  function ding() {
    if (!$("sound").checked) return;
    try {
      state.audio = state.audio || new AudioContext();
      const tone = state.audio.createOscillator();
      const gain = state.audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, state.audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, state.audio.currentTime + 0.35);
      tone.connect(gain).connect(state.audio.destination);
      tone.start();
      tone.stop(state.audio.currentTime + 0.35);
    } catch {
      // no audio device: the badge is enough
    }
  }

  // ---- cases I created: GET /api/cases?created_by=me (refused by a gateway without it) ----
  async function loadCreated() {
    const status = $("created-status");
    status.className = "muted";
    status.textContent = "Loading…";
    try {
      const page = await api("GET", "api/cases?created_by=me&limit=50");
      $("created-list").replaceChildren(...page.cases.map(createdItem));
      status.textContent = page.cases.length ? "" : "You have not created any cases yet.";
    } catch (error) {
      $("created-list").replaceChildren();
      status.className = "error";
      status.textContent = `The cases you created cannot be listed: ${error.message}`;
    }
  }
  function createdItem(c) {
    const item = caseLink(c);
    item.setAttribute("data-testid", "created-item");
    item.setAttribute("data-case-id", c.id);
    return item;
  }

  // ---- the case view ----
  function showPane(name) {
    show($("welcome"), name === "welcome");
    show($("search-view"), name === "search");
    show($("case-view"), name === "case");
    $("app").classList.toggle("reading", name !== "welcome");
  }
  async function openCase(id) {
    state.open = id;
    state.unseen.delete(id);
    show($("case-edited"), false);
    renderWork();
    try {
      const found = await api("GET", caseUrl(id));
      renderCase(found);
      showPane("case");
      $("case-title").focus();
      renderContact(found).catch(reportError);
    } catch (error) {
      reportError(error);
    }
  }
  async function refreshCase() {
    if (state.open === null) return;
    const found = await api("GET", caseUrl(state.open)).catch(reportError);
    if (found) renderCase(found);
  }
  function renderCase(c) {
    state.openCase = c;
    $("case-title").textContent = `#${c.id} ${c.subject || ""}`;
    $("case-title").tabIndex = -1;
    const due = c.sla && c.sla.resolution_due ? `resolve by ${when(c.sla.resolution_due)}` : "";
    $("case-meta").replaceChildren(
      el("span", { class: `status st-${c.status}`, text: statusName(c.status) }),
      el("span", { class: `chip ch-${c.channel}`, text: c.channel }),
      el("span", { text: `${serviceName(c.service)} · ${c.type} · P${c.priority ?? "?"}` }),
      el("span", { class: "muted", text: [c.assignee ? `with ${operatorName(c.assignee)}` : "unassigned", due].filter(Boolean).join(" · ") }),
      ...(c.flags || []).map((flag) => el("span", { class: "flag", text: flag.replace(/_/g, " ") })));
    const resolved = c.status === "resolved";
    const startable = c.status === "assigned" && c.assignee === state.me.operator;
    show($("take"), startable);
    $("resolve").classList.toggle("primary", !startable);
    show($("resume"), c.status === "waiting");
    show($("pause-box"), c.status === "in_progress");
    $("resolve").disabled = resolved;
    $("reply-send").disabled = resolved;
    $("reply-channel").textContent = `(${c.channel})`;
    const timeline = $("timeline");
    timeline.replaceChildren(...(c.timeline || []).map(entryNode));
    timeline.scrollTop = timeline.scrollHeight;
  }
  const serviceName = (id) => (state.me.services.find((s) => s.id === id) || { name: id }).name;
  const operatorName = (id) => (state.me.operators.find((o) => o.id === id) || { name: id }).name;

  function entryNode(entry) {
    const kind = entry.kind || "unknown";
    const side = kind === "message" ? (entry.direction === "out" ? "out" : "in") : "event";
    const item = el("li", { class: `timeline-entry k-${kind} ${side}`, "data-testid": "timeline-entry" });
    const describe = DESCRIBE[kind] || describeOther;
    item.append(el("div", { class: "entry-head" },
      el("span", { class: "who", text: describe.title(entry) }),
      el("time", { datetime: entry.at || "", text: when(entry.at) })));
    describe.body(entry, item);
    return item;
  }
  const textBlock = (value) => el("p", { class: "text", text: value });
  const DESCRIBE = {
    message: {
      title: (e) => `${e.direction === "out" ? "Reply" : e.from || "Customer"} · ${e.channel || ""}${e.to ? ` → ${e.to}` : ""}`,
      body: (e, item) => {
        if (e.subject) item.append(el("p", { class: "subject", text: e.subject }));
        const text = e.text || (e.html ? htmlAsText(e.html) : "");
        if (text) item.append(textBlock(text));
        const fields = e.fields && typeof e.fields === "object" ? fieldList(e.fields) : null;
        if (fields) item.append(fields);
        if (Array.isArray(e.attachments) && e.attachments.length) item.append(attachmentList(e.attachments));
      },
    },
    note: {
      title: (e) => `Note by ${operatorName(e.operator || "?")}`,
      body: (e, item) => item.append(textBlock(e.text || "")),
    },
    status: {
      title: (e) => `Status: ${statusName(e.status)}${e.by ? ` by ${operatorName(e.by)}` : ""}`,
      body: (e, item) => { if (e.reason) item.append(textBlock(`Reason: ${e.reason}`)); },
    },
    assignment: {
      title: (e) => assignmentTitle(e),
      body: () => {},
    },
    call: {
      title: (e) => `Call${e.event ? ` ${e.event}` : ""}${e.from ? ` from ${e.from}` : ""}${e.to ? ` to ${e.to}` : ""}`,
      body: (e, item) => {
        const parts = [e.operator && `operator ${e.operator}`, e.duration !== undefined && `${e.duration}s`].filter(Boolean);
        if (parts.length) item.append(textBlock(parts.join(" · ")));
        if (/^https?:\/\//i.test(e.recording_url || "")) { // never a javascript: link from a provider
          item.append(el("a", { href: e.recording_url, rel: "noreferrer", target: "_blank", text: "Recording" }));
        }
        if (e.text) item.append(textBlock(e.text));
      },
    },
  };
  function assignmentTitle(e) {
    if (e.service) return `Transferred to ${serviceName(e.service)}`;
    const who = operatorName(e.operator || "?");
    if (e.reason) return `Taken from ${who} (${e.reason})`;
    return e.offer_id ? `Offered to ${who}` : `Assigned to ${who}`;
  }
  const describeOther = {
    title: (e) => String(e.kind || "entry"),
    body: (e, item) => item.append(textBlock(JSON.stringify(e))),
  };
  function htmlAsText(markup) {
    // A parsed, inert document: its scripts never run and its images never load.
    return new DOMParser().parseFromString(String(markup), "text/html").body.textContent || "";
  }
  const SHOWN_ELSEWHERE = new Set(["name", "phone", "email", "message", "text", "subject"]);
  function fieldList(fields) {
    // The contact card and the message already show the standard fields.
    const extra = Object.entries(fields).filter(([name]) => !SHOWN_ELSEWHERE.has(name));
    if (!extra.length) return null;
    return el("dl", { class: "fields" }, extra.map(([name, value]) => [el("dt", { text: name }), el("dd", { text: String(value) })]));
  }
  function attachmentList(attachments) {
    return el("ul", { class: "attachments" }, attachments.map((a) => el("li", {},
      el("button", { type: "button", class: "quiet", onclick: () => download(a) },
        `⤓ ${a.name || "attachment"} (${size(a.size)})`))));
  }
  const size = (bytes) => (bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB`
    : bytes >= 1024 ? `${Math.round(bytes / 1024)} KB` : `${bytes || 0} B`);
  async function download(attachment) {
    // A plain link cannot carry the bearer token: fetch it, then save the bytes.
    const response = await fetch(attachment.url.replace(/^\//, ""), { headers: { Authorization: `Bearer ${state.token}` } });
    if (!response.ok) return notice(`The attachment could not be downloaded (${response.status}).`, "bad");
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: attachment.name || "attachment" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  // ---- the contact card ----
  async function lookupContact(contact) {
    const query = contact.phones.length ? `phone=${encodeURIComponent(contact.phones[0])}`
      : contact.emails.length ? `email=${encodeURIComponent(contact.emails[0])}` : null;
    return query ? api("GET", `api/contacts?${query}`).catch(() => null) : null;
  }
  async function renderContact(c) {
    const box = $("contact");
    box.replaceChildren(contactCard(c.contact, null, ""));
    const found = await lookupContact(c.contact);
    if (state.open !== c.id || !found) return;
    const others = found.open_cases.filter((o) => o.id !== c.id);
    box.replaceChildren(contactCard(found.contact, others, others.length ? "Other open cases" : "No other open cases."));
  }
  function contactCard(contact, cases, heading) {
    return el("div", { class: "card contact-card" },
      el("h3", { text: contact.name || "Unnamed contact" }),
      el("ul", { class: "plain" },
        contact.phones.map((p) => el("li", {}, el("span", { class: "muted", text: "Phone " }), p)),
        contact.emails.map((m) => el("li", {}, el("span", { class: "muted", text: "E-mail " }), m))),
      el("p", { class: "muted", text: contact.owner ? `Owner: ${operatorName(contact.owner)}` : "No owner" }),
      cases && cases.length ? el("h4", { text: heading }) : cases && el("p", { class: "muted small", text: heading }),
      cases && el("ul", { class: "plain" }, cases.map(caseLink)));
  }
  function caseLink(c) {
    return el("li", {}, el("button", { type: "button", class: "link-button", onclick: () => openCase(c.id) },
      `#${c.id} ${c.subject || ""} · ${statusName(c.status)}`));
  }

  // ---- search by case number or contact phone / e-mail ----
  async function search(query) {
    const results = $("search-results");
    results.replaceChildren(el("p", { class: "muted", text: "Searching…" }));
    showPane("search");
    const found = [];
    const number = query.replace(/^#/, "");
    if (/^\d{1,15}$/.test(number)) {
      const c = await api("GET", caseUrl(number)).catch(() => null);
      if (c) found.push(el("h3", { text: "Case" }), el("ul", { class: "plain" }, caseLink(c)));
    }
    const digits = query.replace(/\D/g, "");
    const param = query.includes("@") ? "email" : digits.length >= 5 ? "phone" : null;
    if (param) {
      const hit = await api("GET", `api/contacts?${param}=${encodeURIComponent(query)}`).catch(() => null);
      if (hit) found.push(...await contactResults(hit.contact));
    }
    results.replaceChildren(...(found.length ? found : [el("p", { class: "muted", text: `Nothing found for “${query}”.` })]));
  }
  async function contactResults(contact) {
    const page = await api("GET", `api/cases?contact=${encodeURIComponent(contact.id)}&limit=50`).catch(() => ({ cases: [] }));
    return [contactCard(contact, page.cases, page.cases.length ? "Cases" : "No cases yet.")];
  }

  // ---- case actions ----
  async function act(action, body, after) {
    const id = state.open;
    try {
      await api("POST", caseUrl(id, action), body);
    } catch (error) {
      reportError(error);
      return false;
    }
    await Promise.all([refreshCase(), loadWork().catch(reportError)]);
    if (after) after();
    return true;
  }
  async function composer(event, action, input, errorLabel) {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return input.focus();
    const id = state.open;
    try {
      await api("POST", caseUrl(id, action), { text });
      input.value = "";
      await refreshCase();
    } catch (error) {
      notice(`${errorLabel}: ${error.message}`, "bad");
    }
  }
  function fillTransferTargets() {
    const select = $("transfer-to");
    const others = state.me.operators.filter((o) => o.id !== state.me.operator);
    select.replaceChildren(
      el("optgroup", { label: "Operators" }, others.map((o) => el("option", { value: `operator:${o.id}`, text: o.name }))),
      el("optgroup", { label: "Services" }, state.me.services.map((s) => el("option", { value: `service:${s.id}`, text: s.name }))));
  }
  function pauseBody() {
    const body = { reason: $("pause-reason").value };
    const until = $("pause-until").value;
    if (until) body.until = new Date(until).toISOString();
    return body;
  }

  // ---- wiring ----
  function wire() {
    $("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      signIn($("token").value.trim());
    });
    $("signout").addEventListener("click", () => signOut(""));
    $("presence").addEventListener("change", async (event) => {
      try {
        await api("PUT", `api/operators/${encodeURIComponent(state.me.operator)}/presence`, { presence: event.target.value });
        await loadWork();
      } catch (error) {
        reportError(error);
        loadWork().catch(reportError);
      }
    });
    $("sound").checked = localStorage.getItem(SOUND_KEY) === "on";
    $("sound").addEventListener("change", (event) => {
      localStorage.setItem(SOUND_KEY, event.target.checked ? "on" : "off");
      ding();
    });
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const query = $("search").value.trim();
      if (query) search(query).catch(reportError);
    });
    $("back").addEventListener("click", () => { state.open = null; showPane("welcome"); renderWork(); });
    $("reply-form").addEventListener("submit", (e) => composer(e, "reply", $("reply"), "The reply was not sent"));
    $("note-form").addEventListener("submit", (e) => composer(e, "note", $("note"), "The note was not saved"));
    $("resolve").addEventListener("click", () => act("resolve", undefined, () => notice(`Case #${state.openCase.id} resolved.`)));
    $("resume").addEventListener("click", () => act("resume"));
    $("take").addEventListener("click", () => {
      const offer = state.openCase.offer;
      act("accept", offer ? { offer_id: offer.offer_id } : undefined);
    });
    $("pause-form").addEventListener("submit", (event) => {
      event.preventDefault();
      act("pause", pauseBody(), () => { $("pause-box").open = false; });
    });
    $("transfer-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const [kind, target] = $("transfer-to").value.split(":");
      act("transfer", { [kind]: target }, () => { $("transfer-box").open = false; });
    });
    $("created").addEventListener("toggle", () => { if ($("created").open) loadCreated(); });
    setInterval(tickOffers, 1000);
  }

  wire();
  const token = tokenFromUrl() || sessionStorage.getItem(TOKEN_KEY);
  if (token) signIn(token);
  else showSignin("");
})();
