// The on-screen PIN pad (templates/_pin_pad.html): its keys type into the
// PIN box the pad names (data-pin-pad), up to the box's maxlength; 清除
// empties it. Its submit button is a plain one: the form does the rest.

function boxOf(pad) {
  return document.getElementById(pad.dataset.pinPad);
}

document.addEventListener("click", (event) => {
  const key = event.target.closest?.("[data-pin-key], [data-pin-clear]");
  const pad = key?.closest("[data-pin-pad]");
  const box = pad && boxOf(pad);
  if (!box) return;
  if (key.matches("[data-pin-clear]")) {
    box.value = "";
  } else if (box.maxLength <= 0 || box.value.length < box.maxLength) {
    box.value += key.dataset.pinKey;
  }
  box.dispatchEvent(new Event("input", { bubbles: true }));
});
