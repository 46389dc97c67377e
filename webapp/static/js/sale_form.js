// The sale form in the page: find products as you type (or scan a barcode: it types the code
// and Enter), add and remove lines, − / + quantities, live totals written as the server writes
// money, stock and credit warnings. Without this script every step is a POST of the form.
(function () {
  const form = document.querySelector("[data-sale-form]");
  if (!form) return;
  document.documentElement.classList.add("js");

  const find = form.querySelector("#find");
  const options = form.querySelector("[data-find-options]");
  const findError = form.querySelector("[data-find-error]");
  const rows = form.querySelector("[data-rows]");
  const template = document.getElementById("line-template");
  const totalOutput = form.querySelector("[data-total]");
  const creditWarning = form.querySelector("[data-credit-warning]");
  const empty = form.querySelector("[data-empty]");
  const lookupUrl = form.dataset.lookup;
  const availableCents = Math.round(parseFloat(form.dataset.available) * 100);
  const fmt = form.dataset;
  // The page's words for what this script writes, in the reader's language (data-say-*).
  const say_ = (name, values) =>
    Object.entries(values).reduce((text, [key, value]) => text.split(`{${key}}`).join(value), form.dataset[name] || "");
  const digits = parseInt(fmt.moneyDigits, 10);

  // Money as the server writes it (formatting.money_format): cents in, text out.
  function money(cents) {
    const negative = cents < 0;
    const scaled = Math.round(Math.abs(cents) / Math.pow(10, 2 - digits));
    const text = String(scaled).padStart(digits + 1, "0");
    const whole = text.slice(0, text.length - digits).replace(/\B(?=(\d{3})+(?!\d))/g, fmt.moneyGroup);
    const cents_ = digits ? fmt.moneyDecimal + text.slice(text.length - digits) : "";
    return (negative ? "-" : "") + fmt.moneyPrefix + whole + cents_ + fmt.moneySuffix;
  }

  function priceCents(row) {
    return row.dataset.price === "" ? null : Math.round(parseFloat(row.dataset.price) * 100);
  }

  function quantityOf(row) {
    const value = row.querySelector("input.qty").value.trim();
    return /^\d{1,6}$/.test(value) ? parseInt(value, 10) : null;
  }

  function refresh() {
    let cents = 0;
    const lines = rows.querySelectorAll("[data-line]");
    lines.forEach((row, index) => {
      const price = priceCents(row);
      const quantity = quantityOf(row);
      const total = price !== null && quantity !== null ? price * quantity : null;
      row.querySelector("[data-line-total]").textContent = total === null ? "" : money(total);
      if (total !== null) cents += total;
      // More than the stock shown: say so before the sale is sent.
      const stock = row.dataset.stock === "" ? null : parseInt(row.dataset.stock, 10);
      let short = row.querySelector("[data-short]");
      const isShort = stock !== null && quantity !== null && quantity > stock;
      if (isShort && !short && !row.querySelector(".error:not([data-short])")) {
        short = document.createElement("small");
        short.className = "error";
        short.dataset.short = "";
        row.querySelector(".line-name").appendChild(short);
      }
      if (short) {
        if (isShort) short.textContent = stock > 0 ? say_("sayOnly", { stock }) : say_("sayOut", {});
        else short.remove();
      }
      row.querySelector("[data-remove]").value = String(index);
    });
    totalOutput.textContent = lines.length ? money(cents) : "—";
    creditWarning.hidden = !(lines.length && cents > availableCents);
    empty.hidden = lines.length > 0;
  }

  function addLine(product) {
    const existing = rows.querySelector(`[data-line][data-product="${product.id}"]`);
    if (existing) {
      const input = existing.querySelector("input.qty");
      input.value = String((quantityOf(existing) || 0) + 1);
    } else {
      const row = template.content.firstElementChild.cloneNode(true);
      const number = rows.querySelectorAll("[data-line]").length;
      row.dataset.product = product.id;
      row.dataset.price = product.price;
      row.dataset.stock = String(product.stock);
      row.querySelector("input[name=product]").value = product.id;
      row.querySelector("[data-name]").textContent = product.name;
      row.querySelector("[data-price-text]").textContent = product.price_text;
      const input = row.querySelector("input.qty");
      input.id = `quantity-new-${number}-${Date.now()}`;
      row.querySelector("label").htmlFor = input.id;
      row.querySelector("label").textContent = say_("sayQuantity", { name: product.name });
      row.querySelector("[data-remove]").setAttribute("aria-label", say_("sayRemove", { name: product.name }));
      row.querySelectorAll("[data-step]").forEach((button) => {
        const what = button.dataset.step === "1" ? "sayMore" : "sayFewer";
        button.setAttribute("aria-label", say_(what, { name: product.name }));
      });
      rows.appendChild(row);
    }
    refresh();
  }

  function say(message) {
    findError.textContent = message || "";
    findError.hidden = !message;
    if (message) find.setAttribute("aria-invalid", "true");
    else find.removeAttribute("aria-invalid");
  }

  async function lookup(params) {
    const response = await fetch(`${lookupUrl}?${new URLSearchParams(params)}`, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(String(response.status));
    return (await response.json()).products;
  }

  // Suggestions as you type: up to 10, best first; arrows and Enter, or a tap, add one.
  let shown = [];
  let active = -1;
  let typed = 0;

  function closeOptions() {
    shown = [];
    active = -1;
    options.hidden = true;
    options.replaceChildren();
    find.setAttribute("aria-expanded", "false");
    find.removeAttribute("aria-activedescendant");
  }

  function showOptions(products) {
    shown = products;
    active = -1;
    options.replaceChildren(
      ...products.map((product, index) => {
        const item = document.createElement("li");
        item.id = `find-option-${index}`;
        item.setAttribute("role", "option");
        item.className = "find-option";
        const name = document.createElement("span");
        name.className = "match-name";
        name.textContent = product.name + (product.sku ? ` · ${product.sku}` : "");
        const facts = document.createElement("span");
        facts.className = "match-facts";
        facts.textContent = `${product.price_text} · ${
          product.stock > 0 ? say_("sayInStock", { stock: product.stock }) : say_("sayNoStock", {})
        }`;
        if (product.stock <= 0) item.classList.add("out-of-stock");
        item.append(name, facts);
        item.addEventListener("mousedown", (event) => event.preventDefault());
        item.addEventListener("click", () => choose(index));
        return item;
      }),
    );
    options.hidden = products.length === 0;
    find.setAttribute("aria-expanded", String(products.length > 0));
  }

  function highlight(index) {
    active = index;
    options.querySelectorAll("[role=option]").forEach((item, i) => {
      item.setAttribute("aria-selected", String(i === index));
    });
    if (index >= 0) find.setAttribute("aria-activedescendant", `find-option-${index}`);
  }

  function choose(index) {
    addLine(shown[index]);
    find.value = "";
    closeOptions();
    say("");
    find.focus();
  }

  find.addEventListener("input", () => {
    const text = find.value.trim();
    const mine = ++typed;
    say("");
    if (!text) return closeOptions();
    setTimeout(async () => {
      if (mine !== typed) return; // typed on meanwhile
      try {
        const products = await lookup({ q: text });
        if (mine === typed) showOptions(products);
      } catch (error) {
        closeOptions();
      }
    }, 120);
  });

  // Enter: the highlighted suggestion, else the exact barcode or SKU (what a scanner sends).
  // Codes are looked up one after another, so lines come in the order scanned.
  let queue = Promise.resolve();
  find.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && shown.length) {
      event.preventDefault();
      highlight(Math.min(active + 1, shown.length - 1));
    } else if (event.key === "ArrowUp" && shown.length) {
      event.preventDefault();
      highlight(Math.max(active - 1, 0));
    } else if (event.key === "Escape") {
      closeOptions();
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (active >= 0) return choose(active);
      const code = find.value.trim();
      typed++; // no suggestions for what is being looked up now
      find.value = "";
      closeOptions();
      if (!code) return;
      queue = queue.then(async () => {
        try {
          const [product] = await lookup({ code });
          if (product) {
            addLine(product);
            say("");
          } else {
            say(say_("sayUnknown", { code }));
          }
        } catch (error) {
          find.value = code;
          form.requestSubmit(form.querySelector("button[value=find]"));
        }
      });
    }
  });
  find.addEventListener("blur", () =>
    setTimeout(() => {
      if (document.activeElement !== find) closeOptions();
    }, 150),
  );

  rows.addEventListener("click", (event) => {
    const step = event.target.closest("[data-step]");
    const remove = event.target.closest("[data-remove]");
    if (step) {
      const row = step.closest("[data-line]");
      const input = row.querySelector("input.qty");
      input.value = String(Math.max(1, (quantityOf(row) || 1) + parseInt(step.dataset.step, 10)));
      refresh();
    } else if (remove) {
      event.preventDefault();
      remove.closest("[data-line]").remove();
      refresh();
      find.focus();
    }
  });
  rows.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.matches("input.qty")) {
      event.preventDefault(); // back to the search field for the next product
      refresh();
      find.focus();
    }
  });
  form.addEventListener("input", (event) => {
    if (event.target.matches("input.qty")) refresh();
  });
  form.addEventListener("submit", (event) => {
    const submitter = event.submitter;
    if (submitter && submitter.hasAttribute("data-submit")) {
      // The idempotency key already makes a resend harmless; this just avoids the wait. A
      // disabled button is not sent, so its action goes as a field.
      const marker = document.createElement("input");
      marker.type = "hidden";
      marker.name = "action";
      marker.value = "record";
      form.appendChild(marker);
      setTimeout(() => (submitter.disabled = true), 0);
    }
  });
  // Back to this page from the browser's cache: the form as it was left, ready to send again
  // (the server asks before recording the same sale twice).
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    form.querySelectorAll("[data-submit]").forEach((button) => (button.disabled = false));
    form.querySelectorAll("input[type=hidden][name=action]").forEach((marker) => marker.remove());
  });
  refresh();
  // Typed before this script ran (a slow connection, a fast clerk): offer the matches now.
  if (document.activeElement === find && find.value.trim()) {
    find.dispatchEvent(new Event("input"));
  }
})();
