// The rewards page: total points, redemption history and the catalog, for one customer.
// Opened as /rewards-page/#token=<customer token>&user_id=<id>; the fragment never reaches a server.
(function () {
  "use strict";

  const app = document.getElementById("app");
  const apiBase = (app.dataset.apiBase || "").replace(/\/$/, "");
  const el = (id) => document.getElementById(id);
  const params = new URLSearchParams(window.location.hash.slice(1));
  const token = params.get("token");
  const userId = Number(params.get("user_id"));

  function setStatus(text, kind) {
    const status = el("status");
    status.textContent = text || "";
    status.className = "status" + (kind ? " " + kind : "");
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
    const options = { headers: { Authorization: "Bearer " + token, Accept: "application/json" } };
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

  function formatDate(iso) {
    return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "";
  }

  function formatAmount(amount) {
    return "$" + Number(amount).toFixed(2);
  }

  function showPoints(total) {
    el("total-points").textContent = total.toLocaleString();
  }

  function statusOf(row) {
    if (row.kind === "donation") return { text: "Donated", used: true };
    return row.is_active ? { text: "Active", used: false } : { text: "Used", used: true };
  }

  function renderHistory(rows) {
    const list = el("history");
    list.replaceChildren();
    el("history-empty").hidden = rows.length > 0;
    for (const row of rows) {
      const item = document.createElement("li");
      item.dataset.testid = "history-row";
      const what = document.createElement("span");
      what.className = "what";
      what.textContent = row.redeemed_item ? row.redeemed_item.item_description : row.reward_description;
      const when = document.createElement("span");
      when.className = "when";
      when.textContent = formatDate(row.redeemed_date);
      const cost = document.createElement("span");
      cost.className = "cost";
      cost.textContent = "−" + row.points_redeemed + " pts";
      const state = statusOf(row);
      const badge = document.createElement("span");
      badge.className = "badge" + (state.used ? " used" : "");
      badge.textContent = state.text;
      item.append(what, when, cost, badge);
      list.append(item);
    }
  }

  function renderCatalog(items) {
    const list = el("catalog");
    list.replaceChildren();
    for (const option of items) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.kind = option.kind;
      button.dataset.points = option.points_cost;
      const title = document.createElement("span");
      title.className = "title";
      title.textContent = option.description;
      const cost = document.createElement("span");
      cost.className = "cost";
      cost.textContent = option.points_cost + " points";
      button.append(title, cost);
      button.setAttribute("aria-label", "Redeem " + option.description + " for " + option.points_cost + " points");
      button.addEventListener("click", () => redeem(option, button));
      item.append(button);
      list.append(item);
    }
  }

  async function refresh() {
    const [totals, redemptions] = await Promise.all([
      api("get-points/?user_id=" + userId),
      api("get-redemptions/?user_id=" + userId + "&limit=50"),
    ]);
    showPoints(totals.total_points);
    renderHistory(redemptions.redemption_history);
  }

  function setBusy(busy) {
    app.setAttribute("aria-busy", busy ? "true" : "false");
    for (const button of el("catalog").querySelectorAll("button")) button.disabled = busy;
  }

  async function redeem(option, button) {
    setBusy(true);
    setStatus("Redeeming " + option.description + "…");
    const body = {
      user_id: userId,
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
      showPoints(result.total_points);
      await refresh();
    } catch (error) {
      setStatus(explain(error), "error");
    } finally {
      setBusy(false);
      button.focus();
    }
  }

  async function copyCode() {
    const code = el("coupon-code").textContent;
    try {
      await navigator.clipboard.writeText(code);
      setStatus("Coupon code copied.", "success");
    } catch (error) {
      const range = document.createRange();
      range.selectNodeContents(el("coupon-code"));
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      setStatus("Press Ctrl+C (or ⌘C) to copy the selected code.");
    }
  }

  async function start() {
    el("copy-code").addEventListener("click", copyCode);
    if (!token || !Number.isInteger(userId) || userId <= 0) {
      el("total-points").textContent = "–";
      setStatus("This link is incomplete. Please open the rewards page again from your account.", "error");
      app.setAttribute("aria-busy", "false");
      return;
    }
    try {
      const [catalog] = await Promise.all([api("catalog/"), refresh()]);
      renderCatalog(catalog.catalog);
      setStatus("");
    } catch (error) {
      el("total-points").textContent = "–";
      setStatus(explain(error), "error");
    } finally {
      app.setAttribute("aria-busy", "false");
    }
  }

  start();
})();
