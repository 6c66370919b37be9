// The kiosk in the browser, one module per concern: the on-screen keyboard
// and what it types (keyboard, pinyin-candidates from the station's Rime,
// pinyin-left, counter), the contact step's
// consent switch (contact), the idle wipe (idle), the guard against a second
// tap landing on the screen that the first one brought (tap-guard), the
// start-over dialog (start-over), the set-up of each new screen (swaps), the
// receipt's QR code (receipt-qr), the receipt screen's end (receipt-countdown),
// the writing step's voice message (voice), every screen's 朗读 (read-aloud)
// and the handwriting pad (handwriting).
// No build step: the browser loads these files as they are, after htmx.
//
// Nothing here keeps anything: no localStorage, no sessionStorage, no history
// entries. Everything typed lives in the page until a step is sent to the
// server, and the idle wipe blanks the page before it asks the server to
// forget the draft.

import "./keyboard.js";
import "./pinyin-candidates.js";
import "./pinyin-left.js";
import "./counter.js";
import "./contact.js";
import "./idle.js";
import "./tap-guard.js";
import "./start-over.js";
import "./swaps.js";
import "./receipt-qr.js";
import "./receipt-countdown.js";
import "./duty-idle.js";
import "./pin-pad.js";
import "./voice.js";
import "./read-aloud.js";
import "./handwriting.js";

// htmx notes the page's path in sessionStorage when it loads, for a history
// it will never use here (historyEnabled is off): nothing stays.
try { sessionStorage.removeItem("htmx-current-path-for-history"); } catch { /* storage may be disabled */ }

// No long-press menus on a kiosk.
document.addEventListener("contextmenu", (event) => event.preventDefault());
