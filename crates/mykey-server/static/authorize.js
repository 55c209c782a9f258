// The cross-device page: wait (long polling) until the phone answers, then continue.
// Without JavaScript the page's Continue button does the same.
(function () {
  "use strict";
  var status = document.querySelector('meta[name="mykey-status-url"]');
  var next = document.querySelector('meta[name="mykey-continue-url"]');
  if (!status || !next) { return; }
  var live = document.getElementById("live");
  function wait() {
    fetch(status.content + "&wait=20", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (s) {
        if (s.status === "pending") { wait(); return; }
        if (live) { live.textContent = live.getAttribute("data-done"); }
        window.location.assign(next.content);
      })
      .catch(function () { setTimeout(wait, 2000); });
  }
  wait();
})();
