// 下一步 with pinyin letters still waiting for their characters: stay, and
// say why under the field.

import { hasTypedPinyin, refocus, reveal } from "./keyboard.js";

const PINYIN_LEFT = "还有拼音没有选字，请点上面一排里要的字，或删掉拼音。";

function pinyinLeft(element) {
  return hasTypedPinyin(element) && !element.disabled && /[a-z]/.test(element.value);
}

document.addEventListener("submit", (event) => {
  const waiting = [...event.target.querySelectorAll('[data-keyboard="pinyin"]')].find(pinyinLeft);
  if (!waiting) return;
  event.preventDefault();
  event.stopImmediatePropagation();
  const place = waiting.closest(".field") || waiting.parentElement;
  // One message at a time: an older one (请至少写 5 个字) gives way to this one.
  const screen = event.target.closest("#screen") || event.target;
  screen.querySelectorAll(".message:not([data-pinyin-message])").forEach((old) => old.remove());
  if (!place.querySelector("[data-pinyin-message]")) {
    const message = Object.assign(document.createElement("p"), { className: "message error", role: "alert" });
    message.dataset.pinyinMessage = "";
    message.append(Object.assign(document.createElement("span"), { className: "sign", textContent: "!" }), ` ${PINYIN_LEFT}`);
    message.firstChild.setAttribute("aria-hidden", "true");
    waiting.after(message);
  }
  refocus(waiting);
  reveal(waiting);
}, true);

// The message goes once no pinyin is left in the field.
document.addEventListener("input", (event) => {
  const element = event.target;
  if (!pinyinLeft(element)) element.closest(".field, form")?.querySelector("[data-pinyin-message]")?.remove();
});
