// 重新开始: once something is typed or chosen, it asks once (确定重写 /
// 继续填写) before it wipes. Without scripts it starts over at once.

import { forgetFocusedField } from "./idle.js";
import { refocus } from "./keyboard.js";
import { settleTaps } from "./tap-guard.js";

function somethingGiven(screen) {
  if (screen.querySelector("[data-restart][data-answers-given]")) return true;
  return [...screen.querySelectorAll("[data-keyboard]")].some((input) => input.value.trim() !== "")
    || Boolean(screen.querySelector('[data-consent-box] input[name="consent"]:checked'));
}

document.addEventListener("click", (event) => {
  const screen = event.target.closest?.("#screen");
  const confirm = screen?.querySelector("[data-restart-confirm]");
  if (!confirm) return;
  if (event.target.closest("[data-restart]")) {
    if (!somethingGiven(screen)) return;
    event.preventDefault();
    forgetFocusedField();
    confirm.dataset.returnTo = document.activeElement?.id || "";
    confirm.hidden = false;
    settleTaps(); // the dialog, too, must not take the tap that opened it
  } else if (event.target.closest("[data-restart-cancel]")) {
    confirm.hidden = true;
    refocus(document.getElementById(confirm.dataset.returnTo));
  }
});
