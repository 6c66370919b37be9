// The receipt screen ends by itself (data-seconds, the RECEIPT_SECONDS
// setting), touched or not: the number, the 验证码 and the QR code must not
// wait there for the next person. The printed receipt is the person's copy.

let timer = null;

function stop() {
  clearInterval(timer);
  timer = null;
}

// Blank the number, the 验证码 and the QR code first, then go home as 完成 does.
function end(screen) {
  screen.querySelector("[data-receipt-shown]")?.replaceChildren();
  screen.querySelector("[data-receipt-done]")?.form.requestSubmit();
}

export function startReceiptCountdown(screen) {
  stop();
  const countdown = screen.querySelector("[data-receipt-countdown]");
  if (!countdown) return;
  const ends = Date.now() + Number(countdown.dataset.seconds) * 1000;
  const bar = countdown.querySelector("progress");
  const secondsLeft = countdown.querySelector("[data-receipt-seconds-left]");
  const tick = () => {
    if (!countdown.isConnected) { stop(); return; }
    const left = Math.max(0, ends - Date.now());
    bar.value = left / 1000;
    secondsLeft.textContent = Math.ceil(left / 1000);
    if (left === 0) {
      stop();
      end(screen);
    }
  };
  tick();
  timer = setInterval(tick, 200);
}
