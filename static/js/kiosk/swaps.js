// What each new screen needs once htmx has put it in place, and which
// answers replace what.

import { showConsent } from "./contact.js";
import { updateCounter } from "./counter.js";
import { restartIdleTimer } from "./idle.js";
import { destroyKeyboard, hideKeyboard, reveal } from "./keyboard.js";
import { startReceiptCountdown } from "./receipt-countdown.js";
import { setUpVoice } from "./voice.js";

function setUp(root) {
  const screen = root.id === "screen" ? root : root.querySelector?.("#screen");
  if (!screen) return;
  restartIdleTimer();
  showConsent(screen);
  screen.querySelectorAll("[data-counter]").forEach(updateCounter);
  startReceiptCountdown(screen);
  setUpVoice(screen);
  const first = screen.querySelector("[data-autofocus]");
  if (first && document.activeElement !== first) {
    first.focus();
    const end = first.value.length;
    try { first.setSelectionRange(end, end); } catch { /* no caret */ }
  }
}

document.addEventListener("htmx:beforeSwap", (event) => {
  const detail = event.detail;
  // A print-status poll that fails must not replace the receipt screen.
  if (detail.xhr.status >= 400 && detail.requestConfig?.elt?.closest?.("[data-print-status]")) {
    detail.shouldSwap = false;
    return;
  }
  // An error page replaces the whole screen, wherever the request came from.
  if (detail.xhr.status >= 400) {
    detail.target = document.getElementById("screen") || detail.target;
    detail.swapOverride = "outerHTML";
  }
  if (detail.target?.id === "screen") destroyKeyboard();
});

// A look-up result is what the person came for: put the keypad away so it
// shows whole. Where it can be rated, the choices and 提交评价 may lie below
// the fold (portrait): bring them into view.
document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target?.id !== "lookup-result") return;
  hideKeyboard();
  const rating = event.detail.target.querySelector("[data-rating]");
  if (rating) reveal(rating);
});

document.addEventListener("htmx:sendError", () => showProblem("网络连接有问题，请再点一次。"));
document.addEventListener("htmx:timeout", () => showProblem("网络连接有问题，请再点一次。"));

function showProblem(text) {
  const problem = Object.assign(document.createElement("p"), { className: "toast", role: "alert", textContent: text });
  document.body.append(problem);
  setTimeout(() => problem.remove(), 6000);
}

if (window.htmx) window.htmx.onLoad(setUp);
else document.addEventListener("DOMContentLoaded", () => setUp(document.body));
