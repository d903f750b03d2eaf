"use strict";
// A ws client for wsforge's servers:
//   node client.js URL [--deflate]
// It offers the subprotocol interop.v1, reports {"event": "open", ...} once
// connected, serves the connection with peer.js, and exits once it closes.
const { WebSocket } = require("ws");
const { report, serve, version } = require("./peer");

const url = process.argv[2];
const deflate = process.argv.includes("--deflate");
const ws = new WebSocket(url, ["interop.v1"], { perMessageDeflate: deflate, maxPayload: 64 << 20 });
ws.on("open", () => report({ event: "open", protocol: ws.protocol, extensions: ws.extensions, version }));
serve(ws);
