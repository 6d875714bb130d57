// minsheng workstation: keyboard shortcuts, live countdowns, and the intake screen's
// no-reload submit, caller history and category suggestions. Pages work without it.
(function () {
  "use strict";
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const lang = document.body.dataset.lang || "zh";

  // Countdowns: every [data-due] (ms since the epoch) counts down once a minute.
  function human(ms) {
    const min = Math.floor(Math.abs(ms) / 60000), d = Math.floor(min / 1440), h = Math.floor(min % 1440 / 60), m = min % 60;
    if (lang === "zh") return d > 0 ? `${d} 天 ${h} 小时` : h > 0 ? `${h} 小时 ${m} 分` : `${m} 分`;
    return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min`;
  }
  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-due]").forEach((el) => {
      const left = Number(el.dataset.due) - now, late = left < 0;
      el.textContent = lang === "zh" ? (late ? "超时 " : "剩 ") + human(left) : human(left) + (late ? " overdue" : " left");
      el.classList.toggle("late", late);
    });
  }
  tick();
  setInterval(tick, 30000);

  // The login page: plain HTTP away from this machine means the login travels unencrypted (and
  // a Secure session cookie would be dropped): say so rather than loop back here.
  const needsHttps = document.getElementById("needs-https");
  const host = location.hostname;
  if (needsHttps && location.protocol === "http:" && !(host === "localhost" || host.startsWith("127.") || host === "[::1]")) {
    needsHttps.hidden = false;
  }

  const form = document.getElementById("intake");
  if (!form) return;
  const phone = document.getElementById("phone");
  const search = document.getElementById("category-search");
  const list = document.getElementById("category-list");
  const code = document.getElementById("category");
  const chosen = document.getElementById("category-chosen");
  const description = document.getElementById("description");
  const result = document.getElementById("intake-result");
  const error = document.getElementById("intake-error");
  const words = document.getElementById("saved-text").dataset;
  let active = -1, options = [], timer = null, historyTimer = null;

  // F2: a new call starts at the number.
  document.addEventListener("keydown", (e) => {
    if (e.key === "F2") { e.preventDefault(); phone.focus(); phone.select(); }
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit(document.getElementById(e.shiftKey ? "create-answer" : "create-dispatch"));
    }
  });

  // Caller history, by the number, once it looks complete.
  phone.addEventListener("input", () => {
    clearTimeout(historyTimer);
    const digits = phone.value.replace(/\D/g, "");
    if (digits.length < 7) return;
    historyTimer = setTimeout(async () => {
      // The number travels in the body, never in a URL; the lookup names this intake.
      const body = new URLSearchParams({ phone: phone.value, intake: document.getElementById("intake-id").value });
      const r = await fetch("/intake/history", {
        method: "POST", body, headers: { "X-CSRF-Token": csrf() },
      });
      // A refusal (budget spent, another number in this intake) comes as its own fragment.
      document.getElementById("history").innerHTML = await r.text();
    }, 250);
  });

  // Category suggestions: from what is typed in the field, or from the description while no
  // category is chosen. ↓/↑ move, Enter picks, Escape closes.
  function show(items) {
    options = items; active = items.length ? 0 : -1;
    list.innerHTML = "";
    items.forEach((item, i) => {
      const li = document.createElement("li");
      li.id = `category-option-${i}`;
      li.setAttribute("role", "option");
      li.dataset.code = item.code;
      li.innerHTML = "";
      li.append(document.createTextNode(item.name + " "));
      const small = document.createElement("small");
      small.textContent = `${item.path} · ${item.code}`;
      li.append(small);
      li.addEventListener("mousedown", (e) => { e.preventDefault(); pick(i); });
      list.append(li);
    });
    list.hidden = items.length === 0;
    search.setAttribute("aria-expanded", String(!list.hidden));
    mark();
  }
  function mark() {
    [...list.children].forEach((li, i) => li.setAttribute("aria-selected", String(i === active)));
    if (active >= 0) search.setAttribute("aria-activedescendant", `category-option-${active}`);
    else search.removeAttribute("aria-activedescendant");
  }
  function pick(i) {
    const item = options[i];
    if (!item) return;
    code.value = item.code;
    search.value = item.name;
    chosen.textContent = `${words.chosen}: ${item.path} (${item.code})`;
    chosen.classList.add("set");
    show([]);
  }
  async function suggest(text) {
    if (!text.trim()) { show([]); return; }
    const r = await fetch(`/intake/categories?q=${encodeURIComponent(text)}`);
    if (r.ok) show(await r.json());
  }
  search.addEventListener("input", () => {
    code.value = ""; chosen.textContent = words.none; chosen.classList.remove("set");
    clearTimeout(timer); timer = setTimeout(() => suggest(search.value), 120);
  });
  search.addEventListener("focus", () => { if (!code.value && description.value) suggest(description.value); });
  search.addEventListener("blur", () => setTimeout(() => show([]), 100));
  search.addEventListener("keydown", (e) => {
    if (list.hidden) { if (e.key === "ArrowDown") { suggest(search.value || description.value); e.preventDefault(); } return; }
    if (e.key === "ArrowDown") { active = Math.min(active + 1, options.length - 1); mark(); e.preventDefault(); }
    else if (e.key === "ArrowUp") { active = Math.max(active - 1, 0); mark(); e.preventDefault(); }
    else if (e.key === "Enter" && !e.ctrlKey && !e.metaKey) { pick(active); e.preventDefault(); }
    else if (e.key === "Escape") { show([]); e.preventDefault(); }
  });

  // Submit without reloading: the number comes back and the form is ready for the next call.
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new URLSearchParams(new FormData(form));
    data.set("ending", (e.submitter && e.submitter.value) || "dispatch");
    error.hidden = true;
    const r = await fetch(form.action, {
      method: "POST", body: data,
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf() },
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) {
      error.textContent = (body.error && body.error.message) || `HTTP ${r.status}`;
      error.hidden = false;
      return;
    }
    const label = data.get("ending") === "answer" ? words.answer : words.dispatch;
    result.innerHTML = "";
    const a = document.createElement("a");
    a.href = body.url; a.textContent = body.no_grouped; a.id = "created-ticket"; a.dataset.no = body.no;
    result.append(document.createTextNode(`${label}: `), a, document.createTextNode(` (${body.status})`));
    form.reset();
    // The next call is a new intake.
    const intake = document.getElementById("intake-id");
    intake.defaultValue = intake.value = body.next_intake;
    code.value = ""; chosen.textContent = words.none; chosen.classList.remove("set");
    document.getElementById("history").innerHTML = "";
    phone.focus();
  });
})();
