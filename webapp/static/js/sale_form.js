// Conveniences for the sale form; it works without them (rows come from the server).
// Adds item rows in place, shows line totals and the running total, warns before the
// credit limit, and stops a second click from sending the form twice.
(function () {
  const form = document.querySelector("[data-sale-form]");
  if (!form) return;

  const rowsBody = form.querySelector("[data-rows]");
  const totalOutput = form.querySelector("[data-total]");
  const creditWarning = form.querySelector("[data-credit-warning]");
  const available = parseFloat(form.dataset.available);
  const currency = new Intl.NumberFormat(undefined, {
    style: "currency",
    currency: form.dataset.currency,
  });

  function lineTotal(row) {
    const option = row.querySelector("select").selectedOptions[0];
    const quantity = row.querySelector("input.qty").value.trim();
    if (!option || !option.dataset.price || !/^\d{1,6}$/.test(quantity)) return null;
    // Cents as integers, so the sum matches the server's to the cent.
    return Math.round(parseFloat(option.dataset.price) * 100) * parseInt(quantity, 10);
  }

  function refresh() {
    let cents = 0;
    let any = false;
    rowsBody.querySelectorAll("tr").forEach((row) => {
      const value = lineTotal(row);
      row.querySelector("[data-line-total]").textContent =
        value === null ? "" : currency.format(value / 100);
      if (value !== null) {
        cents += value;
        any = true;
      }
    });
    totalOutput.textContent = any ? currency.format(cents / 100) : "—";
    creditWarning.hidden = !(any && cents > Math.round(available * 100));
  }

  function addRow() {
    const rows = rowsBody.querySelectorAll("tr");
    const copy = rows[rows.length - 1].cloneNode(true);
    const number = rows.length + 1;
    copy.classList.remove("has-error");
    copy.querySelectorAll(".error").forEach((el) => el.remove());
    copy.querySelectorAll("[aria-describedby]").forEach((el) => el.removeAttribute("aria-describedby"));
    const select = copy.querySelector("select");
    const input = copy.querySelector("input.qty");
    select.value = "";
    input.value = "1";
    select.id = `product-${number}`;
    input.id = `quantity-${number}`;
    copy.querySelectorAll("label").forEach((label) => {
      label.htmlFor = label.htmlFor.startsWith("product") ? select.id : input.id;
      label.textContent = label.textContent.replace(/\d+$/, String(number));
    });
    rowsBody.appendChild(copy);
    select.focus();
    refresh();
  }

  form.querySelector("[data-more-rows]").addEventListener("click", (event) => {
    event.preventDefault();
    addRow();
  });
  form.addEventListener("input", refresh);
  form.addEventListener("change", refresh);
  form.addEventListener("submit", (event) => {
    if (event.submitter && event.submitter.hasAttribute("data-submit")) {
      // The idempotency key already makes a resend harmless; this just avoids the wait.
      event.submitter.disabled = true;
      const marker = document.createElement("input");
      marker.type = "hidden";
      marker.name = "record";
      marker.value = "1";
      form.appendChild(marker);
    }
  });
  refresh();
})();
