// The chat client. window.chat is the whole API, used by the page's
// controls below and, in the browser test, by the test itself.
"use strict";

const chat = {
  ws: null,
  received: [], // every message received: an event, or {type: "bytes", ...}
  waiters: [],  // pending next() calls
  closed: null, // the close event's {code, reason, wasClean}

  // connect opens the WebSocket and resolves, once it is open, with the
  // subprotocol and extensions the server accepted.
  connect(room, name) {
    const url = new URL("ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("room", room);
    if (name) url.searchParams.set("name", name);
    const ws = new WebSocket(url, ["chat.v1"]);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.closed = null;
    ws.onmessage = (e) => this.receive(e.data);
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve({ protocol: ws.protocol, extensions: ws.extensions });
      ws.onclose = (e) => {
        this.closed = { code: e.code, reason: e.reason, wasClean: e.wasClean };
        reject(new Error(`closed before opening: ${e.code}`));
        for (const w of this.waiters.splice(0)) w.reject(new Error(`closed: ${e.code} ${e.reason}`));
        ui.closed(this.closed);
      };
    });
  },

  receive(data) {
    let m;
    if (typeof data === "string") {
      m = JSON.parse(data);
    } else {
      const b = new Uint8Array(data);
      m = { type: "bytes", size: b.length, sum: checksum(b) };
    }
    this.received.push(m);
    ui.show(m);
    const i = this.waiters.findIndex((w) => w.match(m));
    if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
  },

  // next resolves with the first message from now on for which match
  // returns true.
  next(match) {
    return new Promise((resolve, reject) => this.waiters.push({ match, resolve, reject }));
  },

  send(text) { this.ws.send(text); },

  // sendBytes sends n bytes of a fixed pattern as a binary message and
  // returns their checksum.
  sendBytes(n) {
    const b = pattern(n);
    this.ws.send(b);
    return checksum(b);
  },

  sendFile(file) { return file.arrayBuffer().then((buf) => this.ws.send(buf)); },

  // close closes with code and reason and resolves with what the close
  // event reported.
  close(code, reason) {
    const ws = this.ws;
    return new Promise((resolve) => {
      ws.addEventListener("close", () => resolve(this.closed));
      ws.close(code, reason);
    });
  },
};

function pattern(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

// checksum is Adler-32, enough to tell that bytes arrived intact.
function checksum(b) {
  let a = 1, s = 0;
  for (let i = 0; i < b.length; i++) {
    a = (a + b[i]) % 65521;
    s = (s + a) % 65521;
  }
  return ((s << 16) | a) >>> 0;
}

const $ = (id) => document.getElementById(id);

const ui = {
  show(m) {
    const li = document.createElement("li");
    const from = document.createElement("span");
    from.className = "from";
    switch (m.type) {
      case "message":
        from.textContent = m.from;
        li.append(from, m.text.length > 2000 ? `${m.text.slice(0, 2000)}… (${m.text.length} characters)` : m.text);
        break;
      case "attachment":
        li.className = "notice";
        li.textContent = `${m.from} sent ${m.size} bytes`;
        break;
      case "bytes":
        return; // the attachment's notice has said it
      default:
        li.className = "notice";
        li.textContent = `${m.from} ${m.type === "join" ? "joined" : "left"} ${m.room}`;
    }
    if (m.node) {
      const node = document.createElement("span");
      node.className = "node";
      node.textContent = `via ${m.node}`;
      li.append(node);
    }
    $("log").append(li);
    li.scrollIntoView({ block: "end" });
  },
  connected(on, text) {
    $("status").textContent = text;
    $("join").disabled = on;
    $("leave").disabled = !on;
    for (const el of $("send").elements) el.disabled = !on;
  },
  closed(c) {
    this.connected(false, `closed: ${c.code}${c.reason ? " " + c.reason : ""}`);
  },
};

$("join").onclick = () => {
  chat.connect($("room").value, $("name").value).then(
    (info) => ui.connected(true, `connected (${info.protocol || "no subprotocol"}${info.extensions ? ", " + info.extensions : ""})`),
    () => {},
  );
};
$("leave").onclick = () => chat.close(1000, "bye");
$("send").onsubmit = (e) => {
  e.preventDefault();
  const file = $("file").files[0];
  if (file) {
    chat.sendFile(file);
    $("file").value = "";
  }
  if ($("text").value) chat.send($("text").value);
  $("text").value = "";
};

const params = new URLSearchParams(location.search);
if (params.has("room")) $("room").value = params.get("room");
if (params.has("name")) $("name").value = params.get("name");
