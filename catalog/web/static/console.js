// Comfort only: every page works without it. Shows a matrix cell's reasons on hover (after a
// short pause) and pins them on click; fetched on demand, so the page stays small.
(function () {
  "use strict";
  var table = document.querySelector("table.matrix");
  var pop = document.getElementById("reasons-pop");
  if (!table || !pop) return;
  var cache = new Map(), timer = null, pinned = null;

  function load(a) {
    var key = a.dataset.purpose + "|" + a.dataset.channel;
    if (!cache.has(key)) {
      var url = table.dataset.reasons + "?purpose=" + encodeURIComponent(a.dataset.purpose) +
                "&channel=" + encodeURIComponent(a.dataset.channel);
      cache.set(key, fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.text();
      }));
    }
    return cache.get(key);
  }

  function show(a) {
    load(a).then(function (html) {
      pop.innerHTML = html;
      var box = a.getBoundingClientRect();
      pop.hidden = false;
      var left = Math.min(window.scrollX + box.left, window.scrollX + document.documentElement.clientWidth - pop.offsetWidth - 12);
      pop.style.left = Math.max(8, left) + "px";
      pop.style.top = (window.scrollY + box.bottom + 6) + "px";
    }).catch(function () { /* the link still works */ });
  }

  function hide() { if (!pinned) pop.hidden = true; }

  table.addEventListener("mouseover", function (e) {
    var a = e.target.closest("a[data-purpose]");
    if (!a || pinned) return;
    clearTimeout(timer);
    timer = setTimeout(function () { show(a); }, 180);
  });
  table.addEventListener("mouseout", function (e) {
    if (e.target.closest("a[data-purpose]")) { clearTimeout(timer); setTimeout(hide, 120); }
  });
  table.addEventListener("click", function (e) {
    var a = e.target.closest("a[data-purpose]");
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    if (pinned) pinned.parentNode.classList.remove("pinned");
    pinned = pinned === a ? null : a;
    if (pinned) { a.parentNode.classList.add("pinned"); show(a); } else { pop.hidden = true; }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && pinned) { pinned.parentNode.classList.remove("pinned"); pinned = null; pop.hidden = true; }
  });
  document.addEventListener("click", function (e) {
    if (pinned && !e.target.closest("table.matrix") && !e.target.closest("#reasons-pop")) {
      pinned.parentNode.classList.remove("pinned"); pinned = null; pop.hidden = true;
    }
  });
})();
