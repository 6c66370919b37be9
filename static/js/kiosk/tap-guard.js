// Taps that come too soon.
//
// A new screen arrives under the finger, and a button on it may sit where
// the one just tapped was: the second tap of a double tap must do nothing.
// While a request is on its way, and for a moment after its answer is
// shown, the screen takes no taps (body.taps-held, see kiosk.css). The
// keyboard is left out, since typing goes on at full speed, except for a
// tap on the very spot of the tap that asked for the new screen. A look-up
// result comes up beside the fields, not in place of them: only the result
// and 查询 are held (body.result-taps-held), and a field takes a tap at once.

// Long enough for the second tap of an unsure hand, a second after the
// first; the page is given it (data-tap-settle-ms, the TAP_SETTLE_MS setting).
const SETTLE_MS = Number(document.body.dataset.tapSettleMs) || 1200;
const LONGEST_HOLD_MS = 8000; // a request that hangs must not freeze the screen
const BOUNCE_PX = 60;
let requestsOnTheWay = 0;
let heldUntil = 0;
let holdTimer = null;
let lastTap = null;
let askingTap = null;
let held = "taps-held"; // what is held: the whole screen, or a look-up result

function holdTaps(ms, what = "taps-held") {
  heldUntil = Date.now() + ms;
  document.body.classList.remove("taps-held", "result-taps-held");
  document.body.classList.add(what);
  held = what;
  clearTimeout(holdTimer);
  holdTimer = setTimeout(() => {
    requestsOnTheWay = 0;
    document.body.classList.remove("taps-held", "result-taps-held");
  }, ms);
}

// Something new just came up under the finger: hold taps for the settle time.
export function settleTaps(what = "taps-held") {
  holdTaps(SETTLE_MS, what);
}

// The class that holds taps for a request's answer, or null: not a new screen.
function holding(detail) {
  const id = detail.target?.id;
  if (id === "screen") return "taps-held";
  if (id === "lookup-result") return "result-taps-held";
  return null;
}

document.addEventListener("htmx:beforeRequest", (event) => {
  const what = holding(event.detail);
  if (!what) return;
  requestsOnTheWay += 1;
  askingTap = lastTap;
  // A new screen on its way while a result is too: the whole screen is held.
  holdTaps(LONGEST_HOLD_MS, requestsOnTheWay > 1 && held === "taps-held" ? held : what);
});

document.addEventListener("htmx:afterRequest", (event) => {
  const what = holding(event.detail);
  if (!what) return;
  requestsOnTheWay = Math.max(0, requestsOnTheWay - 1);
  if (requestsOnTheWay === 0) settleTaps(what);
});

// Only the first tap after the one that asked can be its bounce.
function bounce(event) {
  if (!askingTap || Date.now() >= heldUntil) return false;
  if (!event.target.closest?.("[data-keyboard-panel]")) return false;
  return Math.hypot(event.clientX - askingTap.x, event.clientY - askingTap.y) < BOUNCE_PX;
}

let bounced = false;
window.addEventListener("pointerdown", (event) => {
  bounced = bounce(event);
  askingTap = null;
  if (bounced) {
    event.preventDefault();
    event.stopImmediatePropagation();
  } else {
    lastTap = { x: event.clientX, y: event.clientY };
  }
}, true);

// The candidates answer to the click that follows.
window.addEventListener("click", (event) => {
  if (!bounced) return;
  bounced = false;
  event.preventDefault();
  event.stopImmediatePropagation();
}, true);
