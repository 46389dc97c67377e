// A form sent back with mistakes: the focus goes to the first field at fault, so a screen
// reader reads its label and its error (aria-describedby) and the keyboard is already there.
// Pages without a field at fault keep their own focus (autofocus on the first field).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const first = document.querySelector('main [aria-invalid="true"]');
  if (first) {
    first.focus();
  }
});
