// mailroom dashboard: live charts on the overview, keyboard shortcuts in lists.
// No libraries, no inline script (the CSP forbids it); every text goes in via textContent.
"use strict";

(function () {
  const POLL_MS = 5000;

  function fmtSeconds(v) {
    if (v === null || v === undefined) return "–";
    return v < 10 ? v.toFixed(2) + " s" : v < 120 ? v.toFixed(0) + " s" : (v / 60).toFixed(1) + " min";
  }

  function setText(id, text) {
    const el = document.getElementById(id);
    if (el) el.textContent = text;
  }

  function fillTable(id, rows) {
    const body = document.querySelector("#" + id + " tbody");
    if (!body) return;
    body.replaceChildren();
    if (!rows.length) rows = [["(none)", ""]];
    for (const [name, value] of rows) {
      const tr = document.createElement("tr");
      const a = document.createElement("td");
      const b = document.createElement("td");
      a.textContent = name;
      b.textContent = String(value);
      tr.append(a, b);
      body.append(tr);
    }
  }

  function canvasContext(canvas) {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height;
    canvas.width = w * ratio;
    canvas.height = h * ratio;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = "12px system-ui, sans-serif";
    return [ctx, w, h];
  }

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function drawThroughput(canvas, series) {
    const [ctx, w, h] = canvasContext(canvas);
    const pad = { l: 34, r: 8, t: 10, b: 22 };
    const n = series.collected.length;
    const max = Math.max(1, ...series.collected, ...series.replied);
    const x = (i) => pad.l + (i / Math.max(1, n - 1)) * (w - pad.l - pad.r);
    const y = (v) => h - pad.b - (v / max) * (h - pad.t - pad.b);
    ctx.strokeStyle = css("--line");
    ctx.fillStyle = css("--muted");
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4;
      ctx.beginPath(); ctx.moveTo(pad.l, y(v)); ctx.lineTo(w - pad.r, y(v)); ctx.stroke();
      ctx.fillText(Number.isInteger(v) ? String(v) : v.toFixed(1), 2, y(v) + 4);
    }
    ctx.fillText("-60 min", pad.l, h - 6);
    ctx.fillText("now", w - pad.r - 24, h - 6);
    for (const [key, color] of [["collected", css("--collected")], ["replied", css("--replied")]]) {
      ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.beginPath();
      series[key].forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
      ctx.stroke(); ctx.lineWidth = 1;
    }
  }

  function drawLatency(canvas, lat) {
    const [ctx, w, h] = canvasContext(canvas);
    const bars = [["p50", lat.p50], ["p90", lat.p90], ["p99", lat.p99], ["max", lat.max]];
    const max = Math.max(0.001, ...bars.map((b) => b[1] || 0));
    const pad = { l: 10, b: 22, t: 18 };
    const bw = (w - pad.l * 2) / bars.length;
    bars.forEach(([name, v], i) => {
      const bh = ((v || 0) / max) * (h - pad.b - pad.t);
      ctx.fillStyle = css("--accent");
      ctx.fillRect(pad.l + i * bw + 10, h - pad.b - bh, bw - 20, bh);
      ctx.fillStyle = css("--ink");
      ctx.fillText(name, pad.l + i * bw + 10, h - 6);
      ctx.fillText(fmtSeconds(v), pad.l + i * bw + 10, h - pad.b - bh - 4);
    });
    if (!lat.count) { ctx.fillStyle = css("--muted"); ctx.fillText("no replies yet", w / 2 - 40, h / 2); }
  }

  async function refresh() {
    try {
      const resp = await fetch("/stats", { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!resp.ok) throw new Error(resp.status);
      const s = await resp.json();
      setText("s-total", s.total);
      setText("s-review", s.queue_sizes.human_review ?? 0);
      setText("s-awaiting", s.queue_sizes.acknowledgement_queue ?? 0);
      setText("s-sent", s.replies.sent ?? 0);
      setText("s-dead", s.queue_sizes.dead_letter ?? 0);
      const p = s.send_pace;
      if (p) {
        const perSecond = p.pace_per_second === null ? "unlimited"
          : p.pace_per_second.toFixed(1) + "/s" + (p.pace_per_second < p.per_second - 0.05 ? " (slowed; set " + p.per_second + "/s)" : "");
        setText("s-pace", perSecond + (p.day_left === null ? "" : ", " + Math.floor(p.day_left) + " left today"));
        setText("s-pace-waiting", p.waiting + " waiting to go");
      }
      const l = s.latency_seconds;
      setText("s-latency", [l.p50, l.p90, l.p99].map(fmtSeconds).join(" / "));
      fillTable("t-category", Object.entries(s.by_category).sort((a, b) => b[1] - a[1]));
      fillTable("t-status", Object.entries(s.by_status).sort((a, b) => b[1] - a[1]));
      fillTable("t-mailbox", s.mailboxes.map((m) => [m.account + " / " + m.folder, m.total]));
      drawThroughput(document.getElementById("throughput"), s.throughput);
      drawLatency(document.getElementById("latency"), l);
      setText("updated", "updated " + new Date().toLocaleTimeString());
    } catch (err) {
      setText("updated", "stats unavailable (" + err.message + "), retrying");
    }
  }

  function listKeys() {
    const links = Array.from(document.querySelectorAll("table.list a.row-link"));
    document.addEventListener("keydown", (ev) => {
      const tag = (ev.target.tagName || "").toLowerCase();
      if (["input", "textarea", "select"].includes(tag) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      if (ev.key === "/") {
        const q = document.getElementById("global-q");
        if (q) { ev.preventDefault(); q.focus(); }
        return;
      }
      if (!links.length) return;
      const down = ev.key === "j" || ev.key === "ArrowDown";
      const up = ev.key === "k" || ev.key === "ArrowUp";
      if (!down && !up) return;
      ev.preventDefault();
      let i = links.indexOf(document.activeElement);
      i = i < 0 ? 0 : Math.min(links.length - 1, Math.max(0, i + (down ? 1 : -1)));
      links.forEach((a) => a.closest("tr").classList.remove("current"));
      links[i].closest("tr").classList.add("current");
      links[i].focus();
    });
  }

  // the review queue's checkboxes: shift-click ticks a range, the header box the page,
  // "x" ticks the current row; the count says what the bulk form will act on
  function bulkPicks() {
    const boxes = Array.from(document.querySelectorAll("input.pick"));
    const all = document.getElementById("b-all");
    const pageBox = document.getElementById("select-page");
    if (!boxes.length) return;
    let last = -1;
    function count() {
      const n = all && all.checked ? Number(document.getElementById("match-count").dataset.total)
        : boxes.filter((b) => b.checked).length;
      setText("selected-count", n + " selected");
    }
    boxes.forEach((box, i) => {
      box.addEventListener("click", (ev) => {
        if (ev.shiftKey && last >= 0) {
          const [a, b] = [Math.min(last, i), Math.max(last, i)];
          for (let k = a; k <= b; k++) boxes[k].checked = box.checked;
        }
        last = i;
        count();
      });
    });
    if (pageBox) pageBox.addEventListener("change", () => { boxes.forEach((b) => { b.checked = pageBox.checked; }); count(); });
    if (all) all.addEventListener("change", count);
    document.addEventListener("keydown", (ev) => {
      const tag = (ev.target.tagName || "").toLowerCase();
      if (ev.key !== "x" || ["input", "textarea", "select"].includes(tag)) return;
      const row = document.querySelector("table.list tbody tr.current");
      const box = row && row.querySelector("input.pick");
      if (box) { box.checked = !box.checked; last = boxes.indexOf(box); count(); }
    });
    count();
  }

  // a bulk job's page: its progress from GET /api/bulk/{id} until it ends
  function bulkProgress() {
    const card = document.getElementById("bulk-job");
    if (!card) return;
    async function poll() {
      try {
        const resp = await fetch("/api/bulk/" + encodeURIComponent(card.dataset.job),
          { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!resp.ok) throw new Error(resp.status);
        const job = await resp.json();
        const bar = document.getElementById("job-progress");
        bar.max = Math.max(1, job.total);
        bar.value = job.done + job.skipped;
        setText("job-status", job.status);
        setText("job-done", job.done);
        setText("job-skipped", job.skipped);
        setText("job-total", job.total);
        setText("job-error", job.error || "");
        if (job.status === "running") setTimeout(poll, 500);
      } catch (err) {
        setText("job-error", "progress unavailable (" + err.message + "), retrying");
        setTimeout(poll, 2000);
      }
    }
    poll();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const page = document.body.dataset.page;
    if (page === "overview") {
      refresh();
      setInterval(refresh, POLL_MS);
    }
    listKeys();
    bulkPicks();
    bulkProgress();
  });
})();
