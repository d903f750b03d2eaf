"use strict";
// The peer's side of wsforge's interop tests, on Node's ws. It echoes every
// message with its type, and obeys the text messages that start with "cmd:":
//
//   cmd:info                 reply with {"protocol", "extensions"} as JSON
//   cmd:ping:PAYLOAD         ping with PAYLOAD; once the pong is in, send "pong:PAYLOAD"
//   cmd:fragment:A,B,C       send the text "ABC" as one message in three fragments
//   cmd:close:CODE:REASON    close with CODE and REASON
//
// It reports what happens as JSON lines on standard output.
const { version } = require("ws/package.json");

function report(event) {
  process.stdout.write(JSON.stringify(event) + "\n");
}

function serve(ws) {
  ws.on("message", (data, isBinary) => {
    if (!isBinary) {
      const text = data.toString();
      if (text.startsWith("cmd:")) {
        command(ws, text.slice(4));
        return;
      }
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on("pong", (data) => ws.send("pong:" + data.toString()));
  ws.on("close", (code, reason) => report({ event: "close", code, reason: reason.toString() }));
  ws.on("error", (err) => report({ event: "error", message: err.message }));
}

function command(ws, cmd) {
  const i = cmd.indexOf(":");
  const name = i < 0 ? cmd : cmd.slice(0, i);
  const arg = i < 0 ? "" : cmd.slice(i + 1);
  switch (name) {
    case "info":
      ws.send(JSON.stringify({ protocol: ws.protocol, extensions: ws.extensions }));
      break;
    case "ping":
      ws.ping(arg);
      break;
    case "fragment": {
      const parts = arg.split(",");
      parts.forEach((p, j) => ws.send(p, { fin: j === parts.length - 1 }));
      break;
    }
    case "close": {
      const j = arg.indexOf(":");
      ws.close(Number(arg.slice(0, j)), arg.slice(j + 1));
      break;
    }
    default:
      ws.send("unknown command: " + name);
  }
}

module.exports = { report, serve, version };
