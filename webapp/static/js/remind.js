// Reminder buttons: record the reminder (a POST to the app itself, as the Content-Security-Policy
// allows), then open WhatsApp or the phone's messages with the text. Without this script the
// form posts and the answer is a page with the link to open.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-remind")) return;
  if (form.dataset.plain) return; // sent again without the script's help (below)
  const button = event.submitter;
  if (!button || !button.name) return;
  event.preventDefault();
  // Opened now, while the tap still counts as the user's: a window opened after the answer
  // arrives could be blocked as a pop-up.
  const opened = button.value === "whatsapp" ? window.open("", "_blank") : null;
  const data = new FormData(form);
  data.set(button.name, button.value);
  try {
    const response = await fetch(form.action, {
      method: "POST", body: data, headers: { Accept: "application/json" }, credentials: "same-origin",
    });
    if (!response.ok) throw new Error(String(response.status));
    const { link } = await response.json();
    if (opened) {
      opened.opener = null;
      opened.location.href = link;
    } else {
      window.location.href = link;
    }
    const note = form.parentElement.querySelector(".last-reminder") || document.createElement("small");
    note.className = "muted last-reminder";
    note.textContent = form.dataset.reminded || "";
    form.after(note);
  } catch (error) {
    if (opened) opened.close();
    form.dataset.plain = "1"; // as without a script: the answer is a page with the link
    form.requestSubmit(button);
  }
});
