// The review queue from the keyboard: j/k or arrows move, c confirms, r rejects, z zooms
// (the two pictures large with their agreeing points), ? lists the keys. Keys never act
// while the analyst types in a field, nor with Ctrl/Alt/Meta (the browser's own shortcuts).
(() => {
  const queue = document.querySelector("[data-review-queue]");
  if (!queue) return;
  const help = document.getElementById("review-help");
  let current = -1;

  const items = () => Array.from(queue.querySelectorAll(".review-item"));
  const pending = (item) => item.querySelector("[data-action=confirm]") !== null;

  function select(index, focus = true) {
    const all = items();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((item, i) => item.classList.toggle("is-current", i === current));
    const item = all[current];
    item.setAttribute("aria-current", "true");
    all.forEach((other) => { if (other !== item) other.removeAttribute("aria-current"); });
    if (focus) {
      item.focus({ preventScroll: true });
      item.scrollIntoView({ block: "nearest" });
    }
  }

  function nextPending(from) {
    const all = items();
    for (let i = from + 1; i < all.length; i++) if (pending(all[i])) return i;
    return Math.min(from + 1, all.length - 1);
  }

  function zoom(item) {
    const link = item.querySelector("[data-action=zoom]");
    const box = item.querySelector(".zoom");
    if (!link || !box) return;
    const open = box.hidden;
    box.hidden = !open;
    link.setAttribute("aria-expanded", String(open));
    if (open && !box.hasChildNodes()) {
      window.htmx.ajax("GET", link.getAttribute("href") + "/compare", { target: box, swap: "innerHTML" });
    }
  }

  // One decision per item: a key held down or pressed twice sends one request, not a second
  // that would only be refused (the item is replaced, or freed again on an error).
  function decide(item, action) {
    const button = item && item.querySelector(`[data-action=${action}]`);
    if (!button || item.dataset.busy) return;
    item.dataset.busy = "1";
    button.click();
  }

  function typing(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName));
  }

  function toggleHelp() {
    if (!help) return;
    if (help.open) help.close(); else help.showModal();
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) return;
    if (help && help.open) {
      if (event.key === "?") { event.preventDefault(); help.close(); }
      return; // the dialog's own keys (Esc, Tab) only
    }
    const all = items();
    if (current < 0 && all.length) {
      const inside = all.findIndex((item) => item.contains(document.activeElement));
      current = inside >= 0 ? inside : -1;
    }
    const item = all[current];
    switch (event.key) {
      case "j": case "ArrowDown": select(current + 1); break;
      case "k": case "ArrowUp": select(current < 0 ? 0 : current - 1); break;
      case "c": decide(item, "confirm"); break;
      case "r": decide(item, "reject"); break;
      case "z": if (item) zoom(item); break;
      case "Escape": if (item && !item.querySelector(".zoom").hidden) zoom(item); break;
      case "?": toggleHelp(); break;
      default: return;
    }
    event.preventDefault();
  });

  queue.addEventListener("click", (event) => {
    const link = event.target instanceof Element && event.target.closest("[data-action=zoom]");
    if (!link) return;
    event.preventDefault();
    const item = link.closest(".review-item");
    select(items().indexOf(item), false);
    zoom(item);
  });
  queue.addEventListener("focusin", (event) => {
    const item = event.target instanceof Element && event.target.closest(".review-item");
    if (item) select(items().indexOf(item), false);
  });
  // A decision answers with its item, decided: keep the place and move on to the next one.
  document.body.addEventListener("htmx:afterSettle", (event) => {
    const swapped = event.target;
    if (!(swapped instanceof Element) || !swapped.classList.contains("review-item")) return;
    select(nextPending(items().indexOf(swapped)));
  });
  // A refused decision (someone else decided it first: 409) says why inside its item.
  document.body.addEventListener("htmx:responseError", (event) => {
    const item = event.target instanceof Element && event.target.closest(".review-item");
    if (!item) return;
    delete item.dataset.busy;
    let box = item.querySelector(".review-error");
    if (!box) {
      box = document.createElement("div");
      box.className = "review-error";
      item.querySelector(".review-actions").after(box);
    }
    box.innerHTML = event.detail.xhr.responseText; // the app's own escaped error fragment
  });
  document.querySelectorAll("[data-review-help]").forEach((b) => b.addEventListener("click", toggleHelp));
  select(0, false);
})();
