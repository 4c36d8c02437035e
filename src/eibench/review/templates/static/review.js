// EIBench review: keyboard shortcuts and image zoom. No data is embedded in scripts; the page
// itself says which kind of task it is (body[data-kind]) and, for ratings, which score buttons
// its scale has (a digit key presses the button with that data-key, if there is one).
(function () {
  "use strict";

  function typing(element) {
    if (!element) return false;
    if (element.isContentEditable) return true;
    var tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    var type = element.type;
    return !(type === "radio" || type === "checkbox" || type === "button" || type === "submit");
  }

  function follow(id) {
    var link = document.getElementById(id);
    if (!link || !link.href) return false;
    window.location.href = link.href;
    return true;
  }

  function press(selector) {
    var button = document.querySelector(selector);
    if (!button) return false;
    button.click();
    return true;
  }

  function toggleZoom() {
    var image = document.getElementById("photo");
    if (!image) return;
    if (image.classList.toggle("zoomed")) {
      // Full size, and at least twice the fitted size for small images.
      var width = Math.max(image.naturalWidth, 2 * image.clientWidth);
      image.style.width = width + "px";
    } else {
      image.style.width = "";
    }
  }

  function setCoverage(row, value) {
    var radio = row.querySelector('input[value="' + value + '"]');
    if (radio) radio.checked = true;
  }

  function focusRow(row) {
    var radio = row.querySelector("input:checked") || row.querySelector("input");
    if (radio) radio.focus();
  }

  function auditKey(key, target) {
    var rows = Array.prototype.slice.call(document.querySelectorAll(".audit-row"));
    var row = target && target.closest ? target.closest(".audit-row") : null;
    if (row && (key === "y" || key === "n")) {
      setCoverage(row, key === "y" ? "covered" : "missed");
      var next = rows[rows.indexOf(row) + 1];
      if (next) focusRow(next);
      else document.getElementById("submit").focus();
      return true;
    }
    if (/^[1-9]$/.test(key) && rows[Number(key) - 1]) {
      var chosen = rows[Number(key) - 1];
      var covered = chosen.querySelector('input[value="covered"]');
      setCoverage(chosen, covered && covered.checked ? "missed" : "covered");
      focusRow(chosen);
      return true;
    }
    if (key === "Enter") {
      var form = document.getElementById("task-form");
      if (form) form.requestSubmit();
      return true;
    }
    return false;
  }

  function addRow(focus) {
    var template = document.getElementById("added-template");
    var list = document.getElementById("added");
    if (!template || !list) return;
    var input = template.content.firstElementChild.cloneNode(true);
    list.appendChild(input);
    if (focus) input.focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = document.activeElement;
    var kind = document.body.dataset.kind;
    if (typing(target)) {
      if (event.key === "Escape") {
        target.blur();
      } else if (event.key === "Enter" && kind === "refine" && target.tagName === "INPUT") {
        event.preventDefault(); // Enter in a trigger field must not accept the annotation
        if (target.classList.contains("added")) addRow(true);
      }
      return;
    }
    var key = event.key;
    var done = kind === "audit" && auditKey(key, target);
    if (!done) {
      if (kind === "rate" && /^[0-9]$/.test(key)) done = press('button[data-key="' + key + '"]');
      else if (kind === "refine" && key === "a") done = press("#accept");
      else if (kind === "refine" && key === "r") done = press("#reject");
      else if (key === "n") done = follow("next");
      else if (key === "p") done = follow("prev");
      else if (key === "z" && document.getElementById("photo")) {
        toggleZoom();
        done = true;
      }
    }
    if (done) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var image = document.getElementById("photo");
    if (image) image.addEventListener("click", toggleZoom);
    var add = document.getElementById("add-row");
    if (add) add.addEventListener("click", function () { addRow(true); });
    // One submission per page: a second key press while the first is on its way is ignored.
    var form = document.getElementById("task-form");
    if (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.sent) event.preventDefault();
        form.dataset.sent = "1";
      });
      window.addEventListener("pageshow", function () { delete form.dataset.sent; });
    }
  });
})();
