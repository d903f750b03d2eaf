"use strict";
// A ws server on 127.0.0.1 and a free port, for wsforge's clients:
//   node server.js [--deflate]
// It reports {"event": "listening", "port": N} first, serves each connection
// with peer.js, and exits when its standard input ends.
const { WebSocketServer } = require("ws");
const { report, serve, version } = require("./peer");

const deflate = process.argv.includes("--deflate");
const wss = new WebSocketServer({
  host: "127.0.0.1",
  port: 0,
  perMessageDeflate: deflate,
  maxPayload: 64 << 20,
  handleProtocols: (protocols) => (protocols.has("interop.v1") ? "interop.v1" : false),
});
wss.on("listening", () => report({ event: "listening", port: wss.address().port, version }));
wss.on("connection", (ws) => {
  report({ event: "open", protocol: ws.protocol, extensions: ws.extensions });
  serve(ws);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
