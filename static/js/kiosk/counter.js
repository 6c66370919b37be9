// The character counter under the opinion's text (data-counter names it).

import { hasTypedPinyin } from "./keyboard.js";

export function updateCounter(textarea) {
  const counter = document.getElementById(textarea.dataset.counter);
  if (!counter) return;
  // Characters, not UTF-16 units; pinyin letters are not characters yet.
  const text = hasTypedPinyin(textarea) ? textarea.value.replace(/[a-z]/g, "") : textarea.value;
  const count = [...text.trim()].length;
  const min = Number(counter.dataset.min);
  const max = Number(counter.dataset.max);
  counter.querySelector("[data-count]").textContent = count;
  counter.classList.toggle("short", count > 0 && count < min);
  counter.classList.toggle("over", count > max);
  const note = counter.querySelector("[data-counter-note]");
  if (count > max) note.textContent = `：超出 ${count - max} 字，请删减。`;
  else if (count > 0 && count < min) note.textContent = `：还差 ${min - count} 字。`;
  else note.textContent = "";
}

document.addEventListener("input", (event) => {
  if (event.target.dataset?.counter) updateCounter(event.target);
});
