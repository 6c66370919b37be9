// Deputy mode ends by itself: after data-duty-idle seconds without a touch,
// the screen posts its idle form (templates/duty/_frame.html), which checks
// the deputy out and brings the home screen. The server checks the same
// time on every request, so a closed or frozen screen ends it too.

import { restartIdleTimer } from "./idle.js";

let lastTouch = Date.now();

for (const type of ["pointerdown", "touchstart", "keydown", "input"]) {
  document.addEventListener(type, () => { lastTouch = Date.now(); }, { capture: true, passive: true });
}
// A new screen counts as a touch.
document.addEventListener("htmx:afterSwap", () => { lastTouch = Date.now(); });

setInterval(() => {
  const marker = document.querySelector("[data-duty-idle]");
  if (!marker) return;
  if (Date.now() - lastTouch < Number(marker.dataset.dutyIdle) * 1000) return;
  lastTouch = Date.now();
  restartIdleTimer();
  marker.closest("form")?.requestSubmit();
}, 1000);
