// Small behaviours that CSP forbids inline: confirm dangerous actions, disable double submits.
document.addEventListener("submit", (event) => {
  const form = event.target;
  // the button pressed may ask its own question (one form, several actions)
  const button = event.submitter;
  const question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) { event.preventDefault(); return; }
  if (form.dataset.submitted === "1") { event.preventDefault(); return; }
  form.dataset.submitted = "1";
  setTimeout(() => { delete form.dataset.submitted; }, 5000);
});
// New candidates shown at the analyst's request replace the button pressed: put the focus on
// their heading, not back at the top of the page.
document.addEventListener("htmx:afterSettle", (event) => {
  const block = event.target;
  if (block instanceof Element && block.classList.contains("match-candidates")) {
    block.querySelector("h2")?.focus();
  }
});
