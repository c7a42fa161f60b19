// Live countdowns to takedown target times. The server renders <time datetime=... data-countdown>
// with the starting text; this keeps it moving once a second (no inline script: CSP).
(() => {
  const pad = (n) => String(n).padStart(2, "0");
  const text = (ms) => {
    let s = Math.floor(Math.abs(ms) / 1000);
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    return d ? `${d}d ${pad(h)}h ${pad(m)}m` : `${h}h ${pad(m)}m ${pad(s)}s`;
  };
  const tick = () => {
    for (const el of document.querySelectorAll("time[data-countdown]")) {
      const due = Date.parse(el.getAttribute("datetime"));
      if (Number.isNaN(due)) continue;
      const left = due - Date.now();
      el.textContent = left >= 0 ? `due in ${text(left)}` : `overdue by ${text(left)}`;
      el.classList.toggle("overdue", left < 0);
    }
  };
  tick();
  setInterval(tick, 1000);
})();
