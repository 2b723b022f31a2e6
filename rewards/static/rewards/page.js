// The rewards page: total points, the catalog and the customer's coupons and donations.
// Opened as /rewards-page/#token=<customer token>&user_id=<id>; the fragment never reaches a server.
(function () {
  "use strict";

  const app = document.getElementById("app");
  const apiBase = (app.dataset.apiBase || "").replace(/\/$/, "");
  const currency = app.dataset.currency || "$";
  const el = (id) => document.getElementById(id);
  let session = { token: null, userId: 0 };
  let balance = 0;
  let catalog = [];
  let loadCount = 0;

  function setStatus(text, kind) {
    const status = el("status");
    status.textContent = text || "";
    status.className = "status" + (kind ? " " + kind : "");
  }

  // A page that cannot load shows the message alone, not empty sections around it.
  function showOnly(message) {
    el("content").hidden = true;
    setStatus(message, "error");
  }

  class ApiError extends Error {
    constructor(status, body) {
      const error = (body && body.error) || {};
      super(error.message || "Something went wrong (HTTP " + status + ").");
      this.status = status;
      this.code = error.code;
    }
  }

  async function api(path, body) {
    const options = { headers: { Authorization: "Bearer " + session.token, Accept: "application/json" } };
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(apiBase + "/rewards-api/" + path, options);
    } catch (networkError) {
      throw new ApiError(0, { error: { message: "Cannot reach the rewards service. Check your connection and try again." } });
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  function explain(error) {
    if (error.status === 401) {
      return "Your rewards session has expired or is not valid. Please open the rewards page again from your account.";
    }
    return error.message;
  }

  const plural = (n, one, many) => n.toLocaleString() + " " + (n === 1 ? one : many);
  const formatDate = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "");
  const formatAmount = (amount) => currency + Number(amount).toFixed(2);

  function node(tag, className, text) {
    const item = document.createElement(tag);
    if (className) item.className = className;
    if (text !== undefined) item.textContent = text;
    return item;
  }

  function copyButton(code, label) {
    const button = node("button", "copy", "Copy");
    button.type = "button";
    button.setAttribute("aria-label", "Copy " + label);
    button.addEventListener("click", () => copy(code, button));
    return button;
  }

  const formatDay = (iso) => new Date(iso).toLocaleDateString(undefined, { day: "numeric", month: "short" });

  function note(id, text) {
    el(id).textContent = text || "";
    el(id).hidden = !text;
  }

  // Every balance answer (get-points and each write) carries all of its parts.
  function showBalance(parts) {
    balance = parts.total_points;
    el("total-points").textContent = balance.toLocaleString();
    note(
      "pending-note",
      parts.pending_points > 0
        ? plural(parts.pending_points, "point", "points") + " on their way" +
            (parts.next_available_at ? ", available on " + formatDay(parts.next_available_at) : "")
        : "",
    );
    note(
      "expiry-note",
      parts.expiring_points > 0 && parts.next_expiry_at
        ? plural(parts.expiring_points, "point expires", "points expire") + " soon, the first on " + formatDay(parts.next_expiry_at)
        : "",
    );
    renderCatalog();
  }

  function statusOf(row) {
    if (row.kind === "donation") return { text: "Donated", used: true };
    return row.is_active ? { text: "Ready to use", used: false } : { text: "Used", used: true };
  }

  function renderHistory(rows) {
    const list = el("history");
    list.replaceChildren();
    el("history-empty").hidden = rows.length > 0;
    for (const row of rows) {
      const item = node("li");
      item.dataset.testid = "history-row";
      const what = row.redeemed_item ? row.redeemed_item.item_description : row.reward_description;
      const state = statusOf(row);
      item.append(
        node("span", "what", what),
        node("span", "when", formatDate(row.redeemed_date)),
        node("span", "cost", "−" + plural(row.points_redeemed, "point", "points")),
        node("span", "badge" + (state.used ? " used" : ""), state.text),
      );
      // An unused coupon's code stays here, with a copy button, until the coupon is used.
      if (row.kind === "coupon" && row.is_active && row.redeemed_item) {
        const code = node("code", "code", row.redeemed_item.item_code);
        code.dataset.testid = "history-code";
        const line = node("span", "code-line");
        line.append(code, copyButton(row.redeemed_item.item_code, "the code of " + what));
        item.append(line);
      }
      list.append(item);
    }
  }

  function renderCatalog() {
    const list = el("catalog");
    const busy = app.getAttribute("aria-busy") === "true";
    list.replaceChildren();
    for (const option of catalog) {
      const short = option.points_cost - balance;
      const button = node("button");
      button.type = "button";
      button.dataset.kind = option.kind;
      const kind = node("span", "kind", option.kind === "coupon" ? "Coupon" : "Donation");
      const title = node("span", "title", option.description);
      const cost = node("span", "cost", plural(option.points_cost, "point", "points"));
      button.append(kind, title, cost);
      if (short > 0) {
        // Not reachable yet: shown as such, and not offered as a button that would only fail.
        button.disabled = true;
        button.classList.add("locked");
        button.append(node("span", "more", plural(short, "more point", "more points") + " needed"));
        button.setAttribute("aria-label", option.description + ": " + plural(short, "more point", "more points") + " needed");
      } else {
        button.disabled = busy;
        button.setAttribute("aria-label", "Redeem " + option.description + " for " + plural(option.points_cost, "point", "points"));
        button.addEventListener("click", () => redeem(option, button));
      }
      const item = node("li");
      item.append(button);
      list.append(item);
    }
  }

  async function refresh() {
    const [totals, redemptions] = await Promise.all([
      api("get-points/?user_id=" + session.userId),
      api("get-redemptions/?user_id=" + session.userId + "&limit=50"),
    ]);
    showBalance(totals);
    renderHistory(redemptions.redemption_history);
  }

  function setBusy(busy) {
    app.setAttribute("aria-busy", busy ? "true" : "false");
    for (const button of el("catalog").querySelectorAll("button:not(.locked)")) button.disabled = busy;
  }

  async function redeem(option, button) {
    setBusy(true);
    el("coupon-panel").hidden = true; // a failure must never sit beside an earlier success's code
    setStatus("Redeeming " + option.description + "…");
    const body = {
      user_id: session.userId,
      points_redeemed: option.points_cost,
      reward_description: option.description,
    };
    body[option.kind === "coupon" ? "coupon_amount" : "donation_amount"] = option.amount;
    try {
      const result = await api("redeem-" + option.kind + "/", body);
      if (option.kind === "coupon") {
        el("coupon-code").textContent = result.item_code;
        el("coupon-panel").hidden = false;
        setStatus("Done! " + formatAmount(option.amount) + " coupon redeemed.", "success");
      } else {
        setStatus("Thank you! " + formatAmount(option.amount) + " donated to charity.", "success");
      }
      showBalance(result);
      await refresh();
    } catch (error) {
      setStatus(explain(error), "error");
      refresh().catch(() => {});
    } finally {
      setBusy(false);
      const again = [...el("catalog").querySelectorAll("button")].find((b) => b.textContent === button.textContent);
      if (again && !again.disabled) again.focus();
    }
  }

  async function copy(code, button) {
    try {
      await navigator.clipboard.writeText(code);
      setStatus("Coupon code copied.", "success");
    } catch (error) {
      const target = button.previousElementSibling;
      const range = document.createRange();
      range.selectNodeContents(target);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      setStatus("Press Ctrl+C (or ⌘C) to copy the selected code.");
    }
  }

  async function load() {
    const params = new URLSearchParams(window.location.hash.slice(1));
    session = { token: params.get("token"), userId: Number(params.get("user_id")) };
    const thisLoad = ++loadCount;
    el("coupon-panel").hidden = true;
    app.setAttribute("aria-busy", "true");
    if (!session.token || !Number.isInteger(session.userId) || session.userId <= 0) {
      showOnly("This link is incomplete. Please open the rewards page again from your account.");
      app.setAttribute("aria-busy", "false");
      return;
    }
    setStatus("Loading your rewards…");
    try {
      const [options] = await Promise.all([api("catalog/"), refresh()]);
      if (thisLoad !== loadCount) return; // a newer link was pasted meanwhile
      catalog = options.catalog;
      renderCatalog();
      el("content").hidden = false;
      setStatus("");
    } catch (error) {
      if (thisLoad === loadCount) showOnly(explain(error));
    } finally {
      if (thisLoad === loadCount) setBusy(false);
    }
  }

  el("coupon-panel").querySelector("button.copy").addEventListener("click", (event) => {
    copy(el("coupon-code").textContent, event.currentTarget);
  });
  // Pasting a fresh link into the tab changes only the fragment: load it.
  window.addEventListener("hashchange", load);
  load();
})();
