// The staff queue's bulk form. Listeners on the document, not on the form:
// htmx swaps the queue's results in and out, and boosted pages replace the body.

// The header's checkbox ticks or clears every opinion on the page.
document.addEventListener("change", (event) => {
  const all = event.target.closest?.("[data-select-all]");
  if (!all) return;
  all.form.querySelectorAll("input[name=uuid]").forEach((box) => { box.checked = all.checked; });
});

// Choosing a department means forwarding: the radio follows.
document.addEventListener("change", (event) => {
  const department = event.target.closest?.("[data-forward-on-choice]");
  if (!department || !department.value) return;
  department.form.querySelector("input[name=action][value=forward]").checked = true;
});
