// The rewards page: the points and the tier, the catalog (spending asks first), the customer's
// coupons and donations, every change of the balance explained, and a referral code to share.
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
  let activityCursor = null;
  const ACTIVITY_PAGE = 20;

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

  // What a customer reads when something fails: never the API's developer wording.
  const CUSTOMER_WORDS = {
    insufficient_points: "You don't have enough points for this yet.",
    out_of_stock: "Sorry, this reward has just run out.",
    redemption_limit_reached: "You have already redeemed this reward as many times as it allows for now.",
    not_available: "This reward can't be redeemed today.",
    tier_required: "This reward is for members of another tier.",
    no_matching_catalog_item: "This reward is no longer offered. The list has been refreshed.",
    throttled: "Too many tries in a short time. Please wait a moment and try again.",
  };

  function explain(error) {
    if (error.status === 0) return error.message;
    if (error.status === 401) {
      return "Your rewards session has expired or is not valid. Please open the rewards page again from your account.";
    }
    if (error.status === 403) {
      return "This rewards link belongs to another account. Please open the rewards page again from your own account.";
    }
    if (CUSTOMER_WORDS[error.code]) return CUSTOMER_WORDS[error.code];
    if (error.status === 429) return CUSTOMER_WORDS.throttled;
    return "Something went wrong on our side, and nothing was spent. Please try again in a moment.";
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
    button.addEventListener("click", () => copy(code, button, label));
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
      "owed-note",
      balance < 0
        ? "You owe " + plural(-balance, "point", "points") + ": a return took back points you had already spent. " +
            "The points you earn next pay this first."
        : "",
    );
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
    if ("tier" in parts) renderTier(parts.tier, parts.tier_progress);
    renderCatalog();
  }

  function renderTier(tier, progress) {
    el("tier").hidden = !tier;
    if (!tier) return;
    el("tier-name").textContent = tier.name + " member";
    el("tier-benefits").textContent = tier.benefits.join(" · ");
    const next = progress.next_tier;
    const bar = el("tier-progress");
    if (next) {
      const done = Math.min(progress.qualifying_points, next.entry_points);
      bar.setAttribute("aria-valuemax", String(next.entry_points));
      bar.setAttribute("aria-valuenow", String(done));
      bar.setAttribute("aria-valuetext", done.toLocaleString() + " of " + next.entry_points.toLocaleString() + " points");
      el("tier-progress-fill").style.width = (100 * done / Math.max(next.entry_points, 1)) + "%";
      el("tier-next").textContent = progress.points_to_next > 0
        ? plural(progress.points_to_next, "more point", "more points") + " to " + next.name +
            " (" + progress.qualifying_points.toLocaleString() + " of " + next.entry_points.toLocaleString() + ")"
        : "You have reached " + next.name + ": it shows here shortly.";
    } else {
      bar.setAttribute("aria-valuemax", "1");
      bar.setAttribute("aria-valuenow", "1");
      bar.setAttribute("aria-valuetext", "Top tier");
      el("tier-progress-fill").style.width = "100%";
      el("tier-next").textContent = "You are in our top tier.";
    }
    let keep = "";
    if (tier.floor_until) {
      keep = tier.name + " is yours until " + formatDay(tier.floor_until) + ".";
    } else if (tier.requalify_at) {
      keep = progress.points_to_retain > 0
        ? "Earn " + plural(progress.points_to_retain, "more point", "more points") + " by " + formatDay(tier.requalify_at) +
            " to keep " + tier.name + "."
        : "You have earned enough to keep " + tier.name + " after " + formatDay(tier.requalify_at) + ".";
    }
    el("tier-keep").textContent = keep;
    el("tier-keep").hidden = !keep;
  }

  // ---- every change of the balance, in words ----

  const EARNED_FROM = {
    earn: "Bonus points",
    purchase: "Points for a purchase",
    feedback: "Points for your feedback",
    order: "Points for an order",
    activity: "Points for an activity",
    birthday: "Birthday points",
    referral: "Points for a referral",
    import: "Points brought over from our previous program",
  };

  function describe(row) {
    const spendable = row.points_earned - row.points_redeemed;
    const pending = row.pending_change;
    let what = row.reward_description;
    let why = "";
    switch (row.kind) {
      case "coupon":
        why = "Spent on a coupon";
        break;
      case "donation":
        why = "Donated";
        break;
      case "order_return":
        why = pending < 0 ? "Points on the way for these goods were cancelled" : "Points taken back for the returned goods";
        break;
      case "expiry":
        what = "Points expired";
        why = row.reward_description;
        break;
      case "release":
        what = "Points now available";
        why = row.reward_description.replace(/^Now available: /, "From: ");
        break;
      case "adjustment":
        what = "Adjusted by our team";
        why = row.reward_description;
        break;
      case "refund":
        what = "Points given back";
        why = row.reward_description;
        break;
      case "tier":
        what = row.reward_description.split(":")[0] + " bonus";
        why = "Your tier's extra points for " + row.reward_description.split(": ").slice(1).join(": ");
        break;
      default:
        why = row.rule_name ? "From: " + row.rule_name : EARNED_FROM[row.kind] || "";
    }
    // What moved the points to spend; else what moved the points on their way (a release
    // moves both: it shows what it added to spend).
    let change;
    if (spendable > 0 || (spendable === 0 && pending === 0)) {
      change = { text: "+" + spendable.toLocaleString(), tone: "plus" };
    } else if (spendable < 0) {
      change = { text: "−" + (-spendable).toLocaleString(), tone: "minus" };
    } else if (pending > 0) {
      change = { text: "+" + pending.toLocaleString() + " on the way", tone: "later" };
      const arrival = {
        on_the_way: row.available_at ? "arrives on " + formatDay(row.available_at) : "on the way",
        arrived: "since arrived",
        cancelled: "cancelled by a return before it arrived",
      }[row.pending_status];
      if (arrival) why += (why ? " · " : "") + arrival;
    } else {
      change = { text: "−" + (-pending).toLocaleString() + " on the way", tone: "later" };
    }
    return { what, why, change, when: row.earned_date || row.redeemed_date };
  }

  function renderActivity(rows, append) {
    const list = el("activity");
    if (!append) list.replaceChildren();
    for (const row of rows) {
      const shown = describe(row);
      const item = node("li");
      item.dataset.testid = "activity-row";
      item.dataset.kind = row.kind;
      const change = node("span", "change " + shown.change.tone, shown.change.text);
      change.setAttribute("aria-label", shown.change.text.replace("−", "minus ").replace("+", "plus ") + " points");
      item.append(node("span", "what", shown.what), change);
      if (shown.why) item.append(node("span", "why", shown.why));
      item.append(node("span", "when", formatDate(shown.when)));
      list.append(item);
    }
    el("activity-empty").hidden = list.children.length > 0;
  }

  async function loadActivity(append) {
    const cursor = append && activityCursor ? "&cursor=" + activityCursor : "";
    const page = await api("get-user-info/?user_id=" + session.userId + "&limit=" + ACTIVITY_PAGE + cursor);
    renderActivity(page.reward_history, append);
    activityCursor = page.next_cursor;
    el("activity-more").hidden = !page.has_more;
    return page;
  }

  function statusOf(row) {
    if (row.kind === "donation") return { text: "Donated", used: true };
    const item = row.redeemed_item || {};
    if (item.state === "voided") return { text: "Cancelled, points back", used: true };
    if (item.state === "expired") return { text: "Expired", used: true };
    if (!row.is_active) return { text: "Used", used: true };
    return { text: item.valid_until ? "Use by " + formatDay(item.valid_until) : "Ready to use", used: false };
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
      const left = option.stock_left === null || option.stock_left === undefined ? null : option.stock_left;
      const mine = option.limit_left === null || option.limit_left === undefined ? null : option.limit_left;
      if (left !== null && left > 0 && left <= 20) button.append(node("span", "left", left + " left"));
      if (left === 0 || mine === 0) {
        // Nothing to redeem: said so, and not offered as a button that would only fail.
        const why = left === 0 ? "Out of stock" : "Limit reached for now";
        button.disabled = true;
        button.classList.add("locked");
        button.append(node("span", "more", why));
        button.setAttribute("aria-label", option.description + ": " + why.toLowerCase());
      } else if (short > 0) {
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

  // Everything a redemption can change: the balance and tier, the history, the catalog's stock.
  async function refresh() {
    const [totals, redemptions, options] = await Promise.all([
      loadActivity(false),
      api("get-redemptions/?user_id=" + session.userId + "&limit=50"),
      api("catalog/"),
    ]);
    catalog = options.catalog;
    showBalance(totals);
    renderHistory(redemptions.redemption_history);
  }

  function setBusy(busy) {
    app.setAttribute("aria-busy", busy ? "true" : "false");
    for (const button of el("catalog").querySelectorAll("button:not(.locked)")) button.disabled = busy;
  }

  function confirmSpend(option) {
    const dialog = el("confirm");
    const points = plural(option.points_cost, "point", "points");
    el("confirm-text").textContent = option.kind === "coupon"
      ? "Spend " + points + " on a " + formatAmount(option.amount) + " coupon?"
      : "Spend " + points + " to donate " + formatAmount(option.amount) + "?";
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
      dialog.returnValue = "cancel";
      dialog.showModal();
      el("confirm-yes").focus();
    });
  }

  async function redeem(option, button) {
    if (!(await confirmSpend(option))) {
      button.focus();
      return;
    }
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
      // Focus goes to what happened (the new code, or the message), never back onto the tile:
      // a second Enter must not spend again.
      const panel = el("coupon-panel");
      (panel.hidden ? el("status") : el("coupon-title")).focus();
    }
  }

  async function copy(code, button, label) {
    try {
      await navigator.clipboard.writeText(code);
      setStatus((label && label.startsWith("your referral") ? "Referral code" : "Coupon code") + " copied.", "success");
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
      await refresh();
      if (thisLoad !== loadCount) return; // a newer link was pasted meanwhile
      showReferral();
      el("content").hidden = false;
      setStatus("");
    } catch (error) {
      if (thisLoad === loadCount) showOnly(explain(error));
    } finally {
      if (thisLoad === loadCount) setBusy(false);
    }
  }

  // A referral code is a nice-to-have: if it cannot be had, the section stays hidden.
  async function showReferral() {
    try {
      const answer = await api("referral-code/", { user_id: session.userId });
      const row = el("referral-code").parentElement;
      el("referral-code").textContent = answer.code;
      row.querySelector("button.copy")?.remove();
      row.append(copyButton(answer.code, "your referral code"));
      el("referral").hidden = false;
    } catch (error) {
      el("referral").hidden = true;
    }
  }

  el("coupon-panel").querySelector("button.copy").addEventListener("click", (event) => {
    copy(el("coupon-code").textContent, event.currentTarget, "the coupon code");
  });
  el("activity-more").addEventListener("click", async () => {
    try {
      await loadActivity(true);
    } catch (error) {
      setStatus(explain(error), "error");
    }
  });
  // Pasting a fresh link into the tab changes only the fragment: load it.
  window.addEventListener("hashchange", load);
  load();
})();
