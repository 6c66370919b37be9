// The receipt screen's QR code is an image of its own, fetched once the
// screen is shown: it stays hidden until it has arrived whole, so that a
// code on view is always one a phone's camera can read.

function showWhenLoaded(image) {
  if (image.complete) return;
  image.dataset.loading = "";
  const shown = () => { delete image.dataset.loading; };
  image.addEventListener("load", shown, { once: true });
  image.addEventListener("error", shown, { once: true });
}

// Right after the swap, in the same task: the image cannot have loaded yet
// unless the browser had it already (a second tap on 提交).
document.addEventListener("htmx:afterSwap", () => {
  document.querySelectorAll("[data-receipt-qr]").forEach(showWhenLoaded);
});
