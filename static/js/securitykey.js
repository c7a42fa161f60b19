// Security keys (WebAuthn): the browser half of registering one on the factor page and of
// using one at sign-in or a step-up. The server sends its options as JSON with every binary
// field in base64url; navigator.credentials wants ArrayBuffers, and its answer goes back to
// the server as JSON in base64url again. Messages go to a live region so a screen reader
// hears them; errors to an alert.
(() => {
  "use strict";

  const toBuffer = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    return bytes.buffer;
  };

  const toText = (buffer) => {
    let binary = "";
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  const withBuffers = (options) => {
    const publicKey = { ...options, challenge: toBuffer(options.challenge) };
    if (options.user) publicKey.user = { ...options.user, id: toBuffer(options.user.id) };
    for (const list of ["excludeCredentials", "allowCredentials"]) {
      if (options[list]) {
        publicKey[list] = options[list].map((c) => ({ ...c, id: toBuffer(c.id) }));
      }
    }
    return publicKey;
  };

  const asJSON = (credential) => {
    const r = credential.response;
    const response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      if (r.userHandle) response.userHandle = toText(r.userHandle);
    }
    return {
      id: credential.id, rawId: toText(credential.rawId), type: credential.type, response,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    };
  };

  class Refused extends Error {
    constructor(message, body) { super(message); this.body = body || {}; }
  }

  const post = async (url, csrf, body) => {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Refused(data.message || `Refused (${response.status}).`, data);
    return data;
  };

  // A cancelled or timed-out prompt says so in words, not as a DOMException name.
  const browserMessage = (error) => {
    if (error.name === "NotAllowedError") {
      return "The security key was not used (the request was cancelled or timed out). Try again.";
    }
    if (error.name === "InvalidStateError") return "This security key is already registered.";
    if (error.name === "SecurityError") {
      return "This browser refused the request for this site's address. Open Cellwatch at its usual address (for example localhost, not 127.0.0.1) and try again.";
    }
    return `Your browser could not use the security key: ${error.message}`;
  };

  const setUp = (root) => {
    const scope = root.matches("form") ? root.parentElement : root;
    const status = scope.querySelector("[data-security-key-status]");
    const alertBox = scope.querySelector("[data-security-key-error]");
    const trigger = root.matches("form")
      ? root.querySelector("button[type=submit]") : root.querySelector("[data-security-key-start]");
    const say = (text) => { status.textContent = text; };
    const fail = (text, link) => {
      say("");
      alertBox.textContent = text;
      if (link) {
        const a = document.createElement("a");
        a.href = link;
        a.textContent = "Confirm it is you";
        alertBox.append(" ", a);
      }
      alertBox.hidden = false;
    };
    if (!window.PublicKeyCredential || !navigator.credentials) {
      fail("This browser cannot use security keys.");
      trigger.disabled = true;
      return;
    }
    const rpId = root.dataset.rpId;
    if (rpId && location.hostname !== rpId && !location.hostname.endsWith(`.${rpId}`)) {
      fail(`Security keys work only when Cellwatch is opened at ${rpId}; this page is at ${location.hostname}.`);
      trigger.disabled = true;
      return;
    }
    let busy = false;
    const run = async () => {
      if (busy) return;
      busy = true;
      trigger.disabled = true;
      alertBox.hidden = true;
      const csrf = root.dataset.csrf;
      try {
        const body = {};
        if (root.dataset.securityKey === "register") {
          const name = root.elements.name.value.trim();
          if (!name) { root.elements.name.reportValidity(); return; }
          body.name = name;
        } else {
          body.next = root.dataset.next || "/";
        }
        say("Asking the server to start…");
        const options = await post(root.dataset.options, csrf);
        say("Insert or touch your security key now.");
        const publicKey = withBuffers(options);
        const credential = root.dataset.securityKey === "register"
          ? await navigator.credentials.create({ publicKey })
          : await navigator.credentials.get({ publicKey });
        say("Checking the key's answer…");
        body.credential = asJSON(credential);
        const done = await post(root.dataset.verify, csrf, body);
        say("Done.");
        location.assign(done.redirect || "/");
      } catch (error) {
        if (error instanceof Refused) {
          const stepUp = error.body.detail && error.body.detail.step_up;
          if (error.body.redirect) { location.assign(error.body.redirect); return; }
          fail(error.message, stepUp);
        } else {
          fail(browserMessage(error));
        }
      } finally {
        busy = false;
        trigger.disabled = false;
        delete root.dataset.submitted;
      }
    };
    if (root.matches("form")) {
      root.addEventListener("submit", (event) => { event.preventDefault(); run(); });
    } else {
      trigger.addEventListener("click", run);
    }
  };

  document.querySelectorAll("[data-security-key]").forEach(setUp);
})();
