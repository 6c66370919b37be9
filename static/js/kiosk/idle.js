// The idle wipe: after data-idle-seconds without a touch on a screen marked
// data-idle="on", a countdown of data-countdown-seconds; any touch cancels
// it, and at zero the page is blanked and the server forgets the draft.

import { destroyKeyboard, refocus } from "./keyboard.js";

const settings = document.body.dataset;
const IDLE_MS = Number(settings.idleSeconds) * 1000;
const COUNTDOWN_MS = Number(settings.countdownSeconds) * 1000;
const overlay = document.getElementById("idle");
let lastTouch = Date.now();
let countdownEnds = null;
let wiping = false;
let focusedBeforeCountdown = null; // the field to give back after "我还要继续"

// A new screen counts as a touch: the timer starts again from it.
export function restartIdleTimer() {
  lastTouch = Date.now();
}

// Another dialog takes the screen: "我还要继续" gives no field back.
export function forgetFocusedField() {
  focusedBeforeCountdown = null;
}

function touched(event) {
  lastTouch = Date.now();
  if (countdownEnds === null || wiping) return;
  countdownEnds = null;
  if (event.type === "pointerdown" || event.type === "touchstart") {
    // Hide the overlay only once the tap is over, so the tap that cancels
    // the countdown does not also land on the button underneath.
    overlay.addEventListener("click", hideOverlay, { once: true });
    setTimeout(hideOverlay, 800);
  } else {
    hideOverlay();
  }
}

function hideOverlay() {
  if (countdownEnds !== null || wiping || overlay.hidden) return;
  overlay.hidden = true;
  refocus(focusedBeforeCountdown);
  focusedBeforeCountdown = null;
}

function showSecondsLeft(seconds) {
  overlay.querySelectorAll("[data-idle-seconds-left]").forEach((place) => { place.textContent = seconds; });
}

for (const type of ["pointerdown", "touchstart", "keydown", "input"]) {
  document.addEventListener(type, touched, { capture: true, passive: true });
}

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  } catch {
    return "";
  }
}

async function wipe() {
  wiping = true;
  // Blank the page first: whatever happens next, nothing typed stays on view.
  destroyKeyboard();
  document.getElementById("screen")?.replaceChildren();
  overlay.querySelector(".idle-box").replaceChildren(
    Object.assign(document.createElement("p"), { className: "idle-title", textContent: "正在返回首页……" }),
  );
  try { localStorage.clear(); sessionStorage.clear(); } catch { /* storage may be disabled */ }
  // Then make the server forget the draft, retrying while it cannot answer.
  for (;;) {
    try {
      const response = await fetch(settings.idleUrl, {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
        credentials: "same-origin",
        cache: "no-store",
        signal: AbortSignal.timeout(5000),
      });
      // A refusal (an expired page, say) will not change by asking again;
      // the server wipes drafts left behind on its own.
      if (response.ok || (response.status >= 400 && response.status < 500)) break;
    } catch { /* the server may be restarting */ }
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
  // A fresh home page, replacing this one: no history entry is left behind.
  location.replace(settings.homeUrl);
}

setInterval(() => {
  if (wiping || !overlay) return;
  const screen = document.getElementById("screen");
  if (!screen || screen.dataset.idle !== "on") {
    lastTouch = Date.now(); // the home screen holds nothing to wipe
    return;
  }
  const now = Date.now();
  if (countdownEnds === null) {
    if (now - lastTouch >= IDLE_MS) {
      countdownEnds = now + COUNTDOWN_MS;
      showSecondsLeft(Math.ceil(COUNTDOWN_MS / 1000));
      const active = document.activeElement;
      focusedBeforeCountdown = active?.matches?.("[data-keyboard]") ? active : null;
      overlay.hidden = false;
    }
    return;
  }
  const left = Math.max(0, Math.ceil((countdownEnds - now) / 1000));
  showSecondsLeft(left);
  if (left === 0) wipe();
}, 200);
