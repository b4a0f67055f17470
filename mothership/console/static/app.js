// Orbit console: live updates and confirmations. The page's own URL, asked for as an
// event stream, sends the page's live part whenever it changes; the server renders it
// (escaped by html/template), so this script only swaps it in.
"use strict";
(function () {
  const state = document.getElementById("live-state");
  const setState = (s, text) => {
    if (state) { state.dataset.state = s; state.textContent = text; }
  };
  document.addEventListener("submit", (e) => {
    const msg = e.target.dataset.confirm;
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
  const live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  const es = new EventSource(location.pathname + location.search);
  es.onopen = () => setState("on", "live");
  es.onerror = () => setState("off", "reconnecting…");
  es.addEventListener("update", (e) => {
    // Keep what the reader opened (the CA, say) open across the swap.
    const open = [...live.querySelectorAll("details[id][open]")].map((d) => d.id);
    live.innerHTML = e.data;
    open.forEach((id) => document.getElementById(id)?.setAttribute("open", ""));
    live.dataset.updates = String(Number(live.dataset.updates || "0") + 1);
    setState("on", "live");
  });
  es.addEventListener("failure", (e) => setState("failed", e.data));
  es.addEventListener("end", () => {
    es.close();
    location.assign("/console/login");
  });
})();
