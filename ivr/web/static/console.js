// Answer keys for the interviewer's console: pressing 0-9 (or Y/N on yes/no and control
// steps) clicks the answer button that lists the key in its data-keys. Typing in a text
// field, or with a modifier held, is left alone; without this script the buttons work.
(function () {
  "use strict";
  var form = document.getElementById("answer-form");
  if (!form || form.getAttribute("data-shortcuts") !== "on") {
    return;
  }
  var typing = /^(INPUT|TEXTAREA|SELECT)$/;
  // One answer per page: a second key pressed before the next page loads must not answer
  // the next question too.
  var sent = false;
  form.addEventListener("submit", function () {
    sent = true;
  });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.repeat) {
      return;
    }
    var target = event.target;
    if (target && (typing.test(target.tagName) || target.isContentEditable)) {
      return;
    }
    if (sent) {
      event.preventDefault();
      return;
    }
    var key = (event.key || "").toLowerCase();
    if (!/^([0-9]|y|n)$/.test(key)) {
      return;
    }
    var buttons = form.querySelectorAll("button[data-keys]");
    for (var i = 0; i < buttons.length; i += 1) {
      if (buttons[i].getAttribute("data-keys").split(" ").indexOf(key) !== -1) {
        event.preventDefault();
        buttons[i].click();
        return;
      }
    }
  });
}());
