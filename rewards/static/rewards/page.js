// The rewards page: the points and the tier, the catalog (spending asks first), the customer's
// coupons and donations, every change of the balance explained, the challenges with what is left
// and the badges earned, and a referral code to share.
// Opened as /rewards-page/#token=<customer token>&user_id=<id>; the fragment never reaches a server.
(function () {
  "use strict";

  const app = document.getElementById("app");
  const apiBase = (app.dataset.apiBase || "").replace(/\/$/, "");
  const currency = app.dataset.currency || "$";
  const el = (id) => document.getElementById(id);
  // The page's language and its texts (rewards/page_texts.py), chosen by the server: the
  // customer's contact language (asked for below), else the browser's Accept-Language.
  const lang = document.documentElement.lang || "en";
  const TEXTS = JSON.parse(el("page-texts").textContent);
  const pluralRules = new Intl.PluralRules(lang);
  const t = (key, values) => TEXTS[key].replace(/\{(\w+)\}/g, (_, name) => String(values[name]));
  const count = (n) => n.toLocaleString(lang);
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
      super(error.message || t("error_http", { status }));
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
      throw new ApiError(0, { error: { message: t("unreachable") } });
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  // What a customer reads when something fails: never the API's developer wording.
  const CUSTOMER_WORDS = Object.fromEntries(
    ["insufficient_points", "out_of_stock", "redemption_limit_reached", "not_available", "tier_required",
      "no_matching_catalog_item", "throttled"].map((code) => [code, t(code)]),
  );

  function explain(error) {
    if (error.status === 0) return error.message;
    if (error.status === 401) {
      return t("session_invalid");
    }
    if (error.status === 403) {
      return t("other_account");
    }
    if (CUSTOMER_WORDS[error.code]) return CUSTOMER_WORDS[error.code];
    if (error.status === 429) return CUSTOMER_WORDS.throttled;
    return t("server_error");
  }

  // "1 point", "2 points": a count in the form its language's plural rule asks for.
  const plural = (n, key, values) => t(key + "." + (pluralRules.select(n) === "one" ? "one" : "other"), { n: count(n), ...values });
  const formatDate = (iso) => (iso ? new Date(iso).toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" }) : "");
  const formatAmount = (amount) =>
    t("money", { currency, amount: Number(amount).toLocaleString(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) });

  function node(tag, className, text) {
    const item = document.createElement(tag);
    if (className) item.className = className;
    if (text !== undefined) item.textContent = text;
    return item;
  }

  function copyButton(code, label) {
    const button = node("button", "copy", t("copy"));
    button.type = "button";
    button.setAttribute("aria-label", t("copy_label", { label }));
    button.addEventListener("click", () => copy(code, button, label === t("your_referral_code")));
    return button;
  }

  const formatDay = (iso) => new Date(iso).toLocaleDateString(lang, { day: "numeric", month: "short" });

  function note(id, text) {
    el(id).textContent = text || "";
    el(id).hidden = !text;
  }

  // Every balance answer (get-points and each write) carries all of its parts.
  function showBalance(parts) {
    balance = parts.total_points;
    el("total-points").textContent = count(balance);
    note("owed-note", balance < 0 ? t("owed", { points: plural(-balance, "points") }) : "");
    const pendingPoints = parts.pending_points > 0 ? plural(parts.pending_points, "points") : "";
    note(
      "pending-note",
      pendingPoints && parts.next_available_at
        ? t("pending_on", { points: pendingPoints, day: formatDay(parts.next_available_at) })
        : pendingPoints && t("pending", { points: pendingPoints }),
    );
    note(
      "expiry-note",
      parts.expiring_points > 0 && parts.next_expiry_at
        ? plural(parts.expiring_points, "expiring", { day: formatDay(parts.next_expiry_at) })
        : "",
    );
    if ("tier" in parts) renderTier(parts.tier, parts.tier_progress);
    renderCatalog();
  }

  function renderTier(tier, progress) {
    el("tier").hidden = !tier;
    if (!tier) return;
    el("tier-name").textContent = t("tier_member", { tier: tier.name });
    el("tier-benefits").textContent = tier.benefits.join(" · ");
    const next = progress.next_tier;
    const bar = el("tier-progress");
    if (next) {
      const done = Math.min(progress.qualifying_points, next.entry_points);
      bar.setAttribute("aria-valuemax", String(next.entry_points));
      bar.setAttribute("aria-valuenow", String(done));
      bar.setAttribute("aria-valuetext", t("progress_text", { done: count(done), total: count(next.entry_points) }));
      el("tier-progress-fill").style.width = (100 * done / Math.max(next.entry_points, 1)) + "%";
      el("tier-next").textContent = progress.points_to_next > 0
        ? t("to_next", {
          points: plural(progress.points_to_next, "more_points"),
          tier: next.name,
          done: count(progress.qualifying_points),
          total: count(next.entry_points),
        })
        : t("reached", { tier: next.name });
    } else {
      bar.setAttribute("aria-valuemax", "1");
      bar.setAttribute("aria-valuenow", "1");
      bar.setAttribute("aria-valuetext", t("top_tier"));
      el("tier-progress-fill").style.width = "100%";
      el("tier-next").textContent = t("top_tier_note");
    }
    let keep = "";
    if (tier.floor_until) {
      keep = t("floor", { tier: tier.name, day: formatDay(tier.floor_until) });
    } else if (tier.requalify_at) {
      const day = formatDay(tier.requalify_at);
      keep = progress.points_to_retain > 0
        ? t("retain", { points: plural(progress.points_to_retain, "more_points"), day, tier: tier.name })
        : t("retained", { tier: tier.name, day });
    }
    el("tier-keep").textContent = keep;
    el("tier-keep").hidden = !keep;
  }

  // ---- every change of the balance, in words ----

  const EARNED_FROM = Object.fromEntries(
    ["earn", "purchase", "feedback", "order", "activity", "birthday", "referral", "import"].map(
      (kind) => [kind, t("earned_from." + kind)],
    ),
  );

  function describe(row) {
    const spendable = row.points_earned - row.points_redeemed;
    const pending = row.pending_change;
    let what = row.reward_description;
    let why = "";
    switch (row.kind) {
      case "coupon":
        why = t("spent_coupon");
        break;
      case "donation":
        why = t("donated");
        break;
      case "order_return":
        why = pending < 0 ? t("return_cancelled") : t("return_taken");
        break;
      case "expiry":
        what = t("expired_what");
        why = row.reward_description;
        break;
      case "release":
        what = t("available_what");
        why = row.reward_description.startsWith("Now available: ")
          ? t("from", { name: row.reward_description.slice("Now available: ".length) })
          : row.reward_description;
        break;
      case "adjustment":
        what = t("adjusted");
        why = row.reward_description;
        break;
      case "refund":
        what = t("given_back");
        why = row.reward_description;
        break;
      case "tier":
        what = t("tier_bonus_what", { tier: row.reward_description.split(":")[0] });
        why = t("tier_bonus_why", { what: row.reward_description.split(": ").slice(1).join(": ") });
        break;
      default:
        why = row.rule_name ? t("from", { name: row.rule_name }) : EARNED_FROM[row.kind] || "";
    }
    // What moved the points to spend; else what moved the points on their way (a release
    // moves both: it shows what it added to spend).
    let change;
    if (spendable > 0 || (spendable === 0 && pending === 0)) {
      change = { text: "+" + count(spendable), tone: "plus" };
    } else if (spendable < 0) {
      change = { text: "−" + count(-spendable), tone: "minus" };
    } else if (pending > 0) {
      change = { text: t("on_the_way_plus", { n: count(pending) }), tone: "later" };
      const arrival = {
        on_the_way: row.available_at ? t("arrives_on", { day: formatDay(row.available_at) }) : t("on_the_way"),
        arrived: t("since_arrived"),
        cancelled: t("cancelled_before"),
      }[row.pending_status];
      if (arrival) why += (why ? " · " : "") + arrival;
    } else {
      change = { text: t("on_the_way_minus", { n: count(-pending) }), tone: "later" };
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
      change.setAttribute(
        "aria-label",
        t("change_label", { change: shown.change.text.replace("−", t("minus") + " ").replace("+", t("plus") + " ") }),
      );
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
    if (row.kind === "donation") return { text: t("donated"), used: true };
    const item = row.redeemed_item || {};
    if (item.state === "voided") return { text: t("voided"), used: true };
    if (item.state === "expired") return { text: t("expired"), used: true };
    if (!row.is_active) return { text: t("used"), used: true };
    return { text: item.valid_until ? t("use_by", { day: formatDay(item.valid_until) }) : t("ready"), used: false };
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
        node("span", "cost", "−" + plural(row.points_redeemed, "points")),
        node("span", "badge" + (state.used ? " used" : ""), state.text),
      );
      // An unused coupon's code stays here, with a copy button, until the coupon is used.
      if (row.kind === "coupon" && row.is_active && row.redeemed_item) {
        const code = node("code", "code", row.redeemed_item.item_code);
        code.dataset.testid = "history-code";
        const line = node("span", "code-line");
        line.append(code, copyButton(row.redeemed_item.item_code, t("code_of", { what })));
        item.append(line);
      }
      list.append(item);
    }
  }

  // A badge without a picture shows its name's first character: a whole one (an emoji, a
  // letter with its accent), never half of a surrogate pair.
  function badgeMark(name) {
    const text = name.trim();
    const first = typeof Intl.Segmenter === "function"
      ? new Intl.Segmenter().segment(text)[Symbol.iterator]().next().value.segment
      : Array.from(text)[0];
    const mark = node("span", "badge-mark", first.toUpperCase());
    mark.setAttribute("aria-hidden", "true");
    return mark;
  }

  // Each active challenge: its progress bar, what is left (or when it was completed), its reward.
  function renderChallenges(answer) {
    const list = el("challenges");
    list.replaceChildren();
    el("challenges-section").hidden = answer.challenges.length === 0;
    for (const challenge of answer.challenges) {
      const item = node("li", "challenge" + (challenge.completed ? " done" : ""));
      item.dataset.testid = "challenge";
      const done = Math.min(challenge.progress, challenge.target);
      const spend = challenge.metric === "spend";
      const amount = (n) => (spend ? t("money", { currency, amount: count(n) }) : count(n));
      const bar = node("div", "progress");
      bar.setAttribute("role", "progressbar");
      bar.setAttribute("aria-valuemin", "0");
      bar.setAttribute("aria-valuemax", String(challenge.target));
      bar.setAttribute("aria-valuenow", String(challenge.completed ? challenge.target : done));
      bar.setAttribute("aria-label", challenge.name);
      const fill = node("div", "progress-fill");
      fill.style.width = (challenge.completed ? 100 : (100 * done) / Math.max(challenge.target, 1)) + "%";
      bar.append(fill);
      let left;
      if (challenge.completed) {
        left = t("challenge_done", { day: formatDay(challenge.completed_at) });
      } else if (spend) {
        left = t("challenge_left_spend", { amount: amount(challenge.left) });
      } else {
        left = plural(challenge.left, "challenge_left." + challenge.metric);
      }
      const reward = challenge.reward;
      const what = reward.points && reward.badge
        ? t("challenge_reward_both", { points: plural(reward.points, "points") })
        : reward.points ? plural(reward.points, "points") : t("challenge_reward_badge");
      const head = node("div", "challenge-head");
      head.append(node("span", "challenge-name", challenge.name), node("span", "challenge-count",
        t("challenge_progress", { done: amount(challenge.completed ? challenge.target : done), total: amount(challenge.target) })));
      item.append(head);
      if (challenge.description) item.append(node("p", "challenge-description", challenge.description));
      item.append(bar);
      const foot = node("p", "challenge-foot");
      const leftNode = node("span", "challenge-left", left);
      leftNode.dataset.testid = "challenge-left";
      foot.append(leftNode, node("span", "challenge-reward", t("challenge_reward", { what })));
      // The period ends at midnight: its last day is the one before.
      const ends = challenge.period_ends_at && new Date(Date.parse(challenge.period_ends_at) - 1).toISOString();
      if (ends && !challenge.completed) foot.append(node("span", "challenge-ends", t("challenge_ends", { day: formatDay(ends) })));
      item.append(foot);
      list.append(item);
    }
    const badges = el("badges");
    badges.replaceChildren();
    el("badges-section").hidden = answer.challenges.length === 0 && answer.badges.length === 0;
    el("badges-empty").hidden = answer.badges.length > 0;
    for (const badge of answer.badges) {
      const item = node("li", "badge-card");
      item.dataset.testid = "badge";
      if (badge.image_url) {
        const image = node("img", "badge-image");
        image.alt = "";
        // A picture that cannot be had (moved, gone) gives way to the badge's initial.
        image.addEventListener("error", () => image.replaceWith(badgeMark(badge.name)), { once: true });
        image.src = badge.image_url;
        item.append(image);
      } else {
        item.append(badgeMark(badge.name));
      }
      item.append(node("span", "badge-name", badge.name), node("span", "badge-when", t("badge_earned", { day: formatDay(badge.awarded_at) })));
      if (badge.description) item.title = badge.description;
      badges.append(item);
    }
  }

  // Challenges are a nice-to-have: if they cannot be had, their sections stay hidden.
  async function loadChallenges() {
    try {
      renderChallenges(await api("challenges/?user_id=" + session.userId));
    } catch (error) {
      el("challenges-section").hidden = true;
      el("badges-section").hidden = true;
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
      const kind = node("span", "kind", option.kind === "coupon" ? t("kind_coupon") : t("kind_donation"));
      const title = node("span", "title", option.description);
      const cost = node("span", "cost", plural(option.points_cost, "points"));
      button.append(kind, title, cost);
      const left = option.stock_left === null || option.stock_left === undefined ? null : option.stock_left;
      const mine = option.limit_left === null || option.limit_left === undefined ? null : option.limit_left;
      if (left !== null && left > 0 && left <= 20) button.append(node("span", "left", t("left", { n: count(left) })));
      if (left === 0 || mine === 0) {
        // Nothing to redeem: said so, and not offered as a button that would only fail.
        const why = left === 0 ? t("out_of_stock_short") : t("limit_reached");
        button.disabled = true;
        button.classList.add("locked");
        button.append(node("span", "more", why));
        button.setAttribute("aria-label", option.description + ": " + why.toLowerCase());
      } else if (short > 0) {
        // Not reachable yet: shown as such, and not offered as a button that would only fail.
        button.disabled = true;
        button.classList.add("locked");
        const needed = t("needed", { points: plural(short, "more_points") });
        button.append(node("span", "more", needed));
        button.setAttribute("aria-label", option.description + ": " + needed);
      } else {
        button.disabled = busy;
        button.setAttribute(
          "aria-label",
          t("redeem_label", { description: option.description, points: plural(option.points_cost, "points") }),
        );
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
      loadChallenges(),
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
    const values = { points: plural(option.points_cost, "points"), amount: formatAmount(option.amount) };
    el("confirm-text").textContent = t(option.kind === "coupon" ? "confirm_coupon" : "confirm_donation", values);
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
    setStatus(t("redeeming", { description: option.description }));
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
        setStatus(t("done_coupon", { amount: formatAmount(option.amount) }), "success");
      } else {
        setStatus(t("thanks_donation", { amount: formatAmount(option.amount) }), "success");
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

  async function copy(code, button, referral) {
    try {
      await navigator.clipboard.writeText(code);
      setStatus(t(referral ? "referral_copied" : "coupon_copied"), "success");
    } catch (error) {
      const target = button.previousElementSibling;
      const range = document.createRange();
      range.selectNodeContents(target);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      setStatus(t("press_copy"));
    }
  }

  async function load() {
    const params = new URLSearchParams(window.location.hash.slice(1));
    session = { token: params.get("token"), userId: Number(params.get("user_id")) };
    const thisLoad = ++loadCount;
    el("coupon-panel").hidden = true;
    app.setAttribute("aria-busy", "true");
    if (!session.token || !Number.isInteger(session.userId) || session.userId <= 0) {
      showOnly(t("incomplete"));
      app.setAttribute("aria-busy", "false");
      return;
    }
    setStatus(t("loading"));
    try {
      if (await speakTheirLanguage()) return;
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

  // The customer's own language (their contact's), once: the page opens again in it when the
  // browser's was another. No contact, or a language asked for in the address: as it is.
  async function speakTheirLanguage() {
    const url = new URL(window.location.href);
    if (url.searchParams.has("lang")) return false;
    let contact;
    try {
      contact = await api("customers/" + session.userId + "/contact/");
    } catch (error) {
      return false;
    }
    if (!contact.language || contact.language === lang) return false;
    url.searchParams.set("lang", contact.language);
    window.location.replace(url.toString());
    return true;
  }

  // A referral code is a nice-to-have: if it cannot be had, the section stays hidden.
  async function showReferral() {
    try {
      const answer = await api("referral-code/", { user_id: session.userId });
      const row = el("referral-code").parentElement;
      el("referral-code").textContent = answer.code;
      row.querySelector("button.copy")?.remove();
      row.append(copyButton(answer.code, t("your_referral_code")));
      el("referral").hidden = false;
    } catch (error) {
      el("referral").hidden = true;
    }
  }

  el("coupon-panel").querySelector("button.copy").addEventListener("click", (event) => {
    copy(el("coupon-code").textContent, event.currentTarget, false);
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
