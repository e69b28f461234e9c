/*
 * MORE chat widget: a chat panel for storefront pages. Plain ES2020, no dependencies.
 *
 *   <script src="/widget.js"></script>
 *   <script>
 *     MoreChat.mount({
 *       endpoint: "/shop/chat",              // YOUR backend, which adds the API key
 *       userId: "shopper-123",
 *       context: () => ({ items: cart }),    // object or function, read on every send
 *     });
 *   </script>
 *
 * More options: `container` (an element to render inline in; default: a floating launcher
 * on document.body), `headers` (extra request headers, e.g. a CSRF token), `greeting`
 * (first assistant line; null for none). `mount` returns {open, close, unmount}.
 *
 * The page never holds an API key: it posts {user_id, message, session_id?, context?} to
 * the storefront's own backend, which calls POST /v1/chat/stream with its key and passes
 * the response through. So the endpoint answers like /v1/chat/stream: server-sent events
 * `delta` ({"text"}), then `done` (the ChatResponse) or `error` ({"error": {...}}); a turn
 * refused before streaming is a plain HTTP error with the same JSON error body.
 */
(() => {
  "use strict";

  const TEXT = {
    title: "Chat with us",
    launcher: "Chat",
    close: "Close",
    greeting: "Hi! Ask me about our products, paying in instalments, or your order.",
    placeholder: "Type your message…",
    send: "Send",
    handoff: "A member of our team will take over this conversation shortly.",
    busy: "Our assistant is busy right now. Please try again in a moment.",
    rateLimited: (seconds) =>
      seconds
        ? `You're sending messages too quickly. Please wait ${seconds} seconds and try again.`
        : "You're sending messages too quickly. Please wait a moment and try again.",
    inProgress: "Still answering your last message. Please wait for it.",
    offline: "We couldn't reach the shop. Check your connection and try again.",
    interrupted: "The reply was interrupted. Please try again.",
    failed: "Sorry, something went wrong. Please try again.",
  };

  const MAX_MESSAGE_CHARS = 4000; // the API refuses longer messages (422)
  const MAX_PAUSE_S = 300; // never lock the input for longer, whatever Retry-After says

  const CSS = `
.more-chat { --more-chat-accent: #1a56db; font: 14px/1.4 system-ui, sans-serif; color: #111; }
.more-chat__launcher { position: fixed; right: 24px; bottom: 24px; z-index: 2147483000;
  border: 0; border-radius: 24px; padding: 12px 20px; background: var(--more-chat-accent);
  color: #fff; font: inherit; font-weight: 600; cursor: pointer;
  box-shadow: 0 4px 14px rgb(0 0 0 / 25%); }
.more-chat__panel { display: flex; flex-direction: column; width: 360px; height: 480px;
  background: #fff; border: 1px solid #d0d5dd; border-radius: 12px; overflow: hidden;
  box-shadow: 0 8px 28px rgb(0 0 0 / 20%); }
.more-chat__panel[hidden] { display: none; }
.more-chat:not(.more-chat--inline) .more-chat__panel { position: fixed; right: 24px;
  bottom: 84px; z-index: 2147483000; max-height: calc(100vh - 110px); }
.more-chat--inline .more-chat__panel { width: 100%; box-shadow: none; }
.more-chat__header { padding: 12px 16px; background: var(--more-chat-accent); color: #fff;
  font-weight: 600; }
.more-chat__banner { padding: 10px 16px; background: #fef3c7; color: #78350f;
  border-bottom: 1px solid #fcd34d; }
.more-chat__log { flex: 1; overflow-y: auto; padding: 12px; display: flex;
  flex-direction: column; gap: 8px; }
.more-chat__msg { max-width: 85%; padding: 8px 12px; border-radius: 12px;
  white-space: pre-wrap; overflow-wrap: anywhere; }
.more-chat__msg--user { align-self: flex-end; background: var(--more-chat-accent); color: #fff; }
.more-chat__msg--assistant { align-self: flex-start; background: #f2f4f7; }
.more-chat__msg--pending:empty::after { content: "…"; }
.more-chat__msg--notice { align-self: center; max-width: 95%; background: #fdecea;
  color: #7a1c14; font-size: 13px; text-align: center; }
.more-chat__form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #eaecf0; }
.more-chat__input { flex: 1; min-width: 0; padding: 8px 10px; border: 1px solid #d0d5dd;
  border-radius: 8px; font: inherit; }
.more-chat__send { border: 0; border-radius: 8px; padding: 8px 14px; font: inherit;
  background: var(--more-chat-accent); color: #fff; cursor: pointer; }
.more-chat__send:disabled, .more-chat__input:disabled { opacity: 0.5; cursor: not-allowed; }
`;

  function injectStyle() {
    if (document.getElementById("more-chat-style")) return;
    const style = document.createElement("style");
    style.id = "more-chat-style";
    style.textContent = CSS;
    document.head.append(style);
  }

  // Every piece of text goes in through textContent: message text is never parsed as HTML.
  function el(tag, className, text) {
    const node = document.createElement(tag);
    node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Retry-After is either seconds or an HTTP date.
  function retryAfterSeconds(header) {
    if (!header) return null;
    const seconds = /^\d+$/.test(header.trim())
      ? Number(header)
      : Math.ceil((Date.parse(header) - Date.now()) / 1000);
    return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, MAX_PAUSE_S) : null;
  }

  /*
   * Server-sent events from a fetch body (EventSource cannot POST). Yields {event, data}
   * per event; handles the parts of the format the API uses: `event`, `data` (joined by
   * "\n" when repeated), comments (keep-alive pings) and any of the three line endings.
   */
  async function* readEvents(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let event = "message";
    let data = [];
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return; // an event without its closing blank line is dropped, as in browsers
        buffer += decoder.decode(value, { stream: true });
        // A "\r\n" split across two chunks must not read as two line ends (an empty line
        // ends an event): hold a trailing "\r" back until the next chunk.
        const end = buffer.endsWith("\r") ? buffer.length - 1 : buffer.length;
        const lines = buffer.slice(0, end).split(/\r\n|\r|\n/);
        buffer = lines.pop() + buffer.slice(end);
        for (const line of lines) {
          if (line === "") {
            if (data.length) yield { event, data: data.join("\n") };
            event = "message";
            data = [];
          } else if (!line.startsWith(":")) {
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            let value = colon < 0 ? "" : line.slice(colon + 1);
            if (value.startsWith(" ")) value = value.slice(1);
            if (field === "event") event = value;
            else if (field === "data") data.push(value);
          }
        }
      }
    } finally {
      // Also runs when the consumer stops early (after `done`): free the connection.
      reader.cancel().catch(() => {});
    }
  }

  function mount(options) {
    const { endpoint, userId, container } = options || {};
    if (!endpoint || !userId) throw new Error("MoreChat.mount needs `endpoint` and `userId`");
    injectStyle();

    const inline = Boolean(container);
    const root = el("div", inline ? "more-chat more-chat--inline" : "more-chat");
    const panel = el("section", "more-chat__panel");
    panel.id = `more-chat-panel-${Math.random().toString(36).slice(2, 10)}`;
    panel.setAttribute("aria-label", TEXT.title);
    const banner = el("div", "more-chat__banner", TEXT.handoff);
    banner.setAttribute("role", "status");
    banner.hidden = true;
    const log = el("div", "more-chat__log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    const form = el("form", "more-chat__form");
    const input = el("input", "more-chat__input");
    input.type = "text";
    input.maxLength = MAX_MESSAGE_CHARS;
    input.placeholder = TEXT.placeholder;
    input.setAttribute("aria-label", TEXT.placeholder);
    const send = el("button", "more-chat__send", TEXT.send);
    send.type = "submit";
    form.append(input, send);
    panel.append(el("header", "more-chat__header", TEXT.title), banner, log, form);

    let launcher = null;
    if (!inline) {
      launcher = el("button", "more-chat__launcher", TEXT.launcher);
      launcher.type = "button";
      launcher.setAttribute("aria-controls", panel.id);
      launcher.setAttribute("aria-expanded", "false");
      launcher.addEventListener("click", () => (panel.hidden ? open() : close()));
      panel.hidden = true;
      root.append(launcher);
    }
    root.append(panel);
    (container || document.body).append(root);

    let sessionId = null; // set by the first `done`; later turns continue the session
    let busy = false;
    let handedOff = false;
    let pausedUntil = 0; // after a 429: no sending before this time (ms)
    let inFlight = null; // AbortController of the running request

    function syncControls() {
      input.disabled = handedOff;
      send.disabled = handedOff || busy || Date.now() < pausedUntil;
    }

    function addMessage(kind, text) {
      const node = el("div", `more-chat__msg more-chat__msg--${kind}`, text);
      if (kind === "notice") node.setAttribute("role", "alert");
      log.append(node);
      log.scrollTop = log.scrollHeight;
      return node;
    }

    function handOff() {
      // The assistant stays silent from now on; a person picks the conversation up.
      handedOff = true;
      banner.hidden = false;
      input.placeholder = "";
      syncControls();
    }

    function pause(seconds) {
      pausedUntil = Date.now() + seconds * 1000;
      setTimeout(syncControls, seconds * 1000 + 50);
      syncControls();
    }

    // One place decides what the shopper sees for an API error, from an HTTP status or
    // an `error` event (status null): the codes are the API's, see docs/serving.md.
    function showError(status, error, retryAfter) {
      const code = error && error.code;
      if (code === "session_handed_off") return handOff();
      if (code === "generation_in_progress") return addMessage("notice", TEXT.inProgress);
      const type = error && error.type;
      if (code === "engine_overloaded" || status === 503 || type === "unavailable_error") {
        if (retryAfter) pause(retryAfter);
        return addMessage("notice", TEXT.busy);
      }
      if (status === 429 || type === "rate_limit_error") {
        if (retryAfter) pause(retryAfter);
        return addMessage("notice", TEXT.rateLimited(retryAfter));
      }
      return addMessage("notice", TEXT.failed);
    }

    function requestBody(message) {
      const context = typeof options.context === "function" ? options.context() : options.context;
      const body = { user_id: userId, message };
      if (sessionId) body.session_id = sessionId;
      if (context) body.context = context;
      return JSON.stringify(body);
    }

    async function submit(message) {
      busy = true;
      syncControls();
      addMessage("user", message);
      const bubble = addMessage("assistant", "");
      bubble.classList.add("more-chat__msg--pending");
      inFlight = new AbortController();
      let finished = false;
      try {
        let response;
        try {
          response = await fetch(endpoint, {
            method: "POST",
            headers: {
              "Content-Type": "application/json",
              Accept: "text/event-stream",
              ...options.headers, // e.g. the storefront's CSRF token
            },
            body: requestBody(message),
            signal: inFlight.signal,
          });
        } catch (err) {
          if (err.name !== "AbortError") addMessage("notice", TEXT.offline);
          return;
        }
        if (!response.ok) {
          const body = await response.json().catch(() => null);
          const retryAfter = retryAfterSeconds(response.headers.get("Retry-After"));
          showError(response.status, body && body.error, retryAfter);
          return;
        }
        try {
          for await (const { event, data } of readEvents(response.body)) {
            if (event === "delta") {
              bubble.textContent += JSON.parse(data).text;
              log.scrollTop = log.scrollHeight;
            } else if (event === "done") {
              const reply = JSON.parse(data);
              bubble.textContent = reply.reply; // the final text is authoritative
              sessionId = reply.session_id;
              finished = true;
              if (reply.handoff) handOff();
              break;
            } else if (event === "error") {
              showError(null, JSON.parse(data).error, null);
              return;
            }
          }
        } catch (err) {
          if (err.name === "AbortError") return;
        }
        if (!finished) addMessage("notice", TEXT.interrupted);
      } finally {
        // A failed turn leaves no half-written reply behind.
        if (finished) bubble.classList.remove("more-chat__msg--pending");
        else bubble.remove();
        inFlight = null;
        busy = false;
        syncControls();
      }
    }

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const message = input.value.trim();
      if (!message || busy || handedOff || Date.now() < pausedUntil) return;
      input.value = "";
      submit(message);
    });

    function open() {
      panel.hidden = false;
      if (launcher) {
        launcher.setAttribute("aria-expanded", "true");
        launcher.textContent = TEXT.close;
      }
      if (!input.disabled) input.focus();
    }

    function close() {
      if (inline) return;
      panel.hidden = true;
      launcher.setAttribute("aria-expanded", "false");
      launcher.textContent = TEXT.launcher;
    }

    function unmount() {
      if (inFlight) inFlight.abort();
      root.remove();
    }

    if (options.greeting !== null) addMessage("assistant", options.greeting || TEXT.greeting);
    syncControls();
    return { open, close, unmount };
  }

  window.MoreChat = { mount };
})();
