"""The peer's side of wsforge's interop tests, on Python's websockets.

    /usr/bin/python3 peer.py server [--deflate]
    /usr/bin/python3 peer.py client URL [--deflate]

It echoes every message with its type and obeys the text messages that
start with "cmd:", like interop/node/peer.js:

    cmd:info                 reply with {"protocol", "extensions"} as JSON
    cmd:ping:PAYLOAD         ping with PAYLOAD; once the pong is in, send "pong:PAYLOAD"
    cmd:fragment:A,B,C       send the text "ABC" as one message in three fragments
    cmd:close:CODE:REASON    close with CODE and REASON

It reports what happens as JSON lines on standard output. The server
listens on 127.0.0.1 and a free port, reports it first, and exits when its
standard input ends; the client exits once the connection has closed.
"""

import asyncio
import json
import sys

import websockets

SUBPROTOCOL = "interop.v1"
MAX_SIZE = 64 << 20


def report(**event):
    print(json.dumps(event), flush=True)


def extensions(ws):
    return ws.response_headers.get("Sec-WebSocket-Extensions", "")


async def serve(ws):
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith("cmd:"):
                await command(ws, msg[4:])
            else:
                await ws.send(msg)
    except websockets.ConnectionClosed:
        pass
    report(event="close", code=ws.close_code, reason=ws.close_reason)


async def command(ws, cmd):
    name, _, arg = cmd.partition(":")
    if name == "info":
        await ws.send(json.dumps({"protocol": ws.subprotocol or "", "extensions": extensions(ws)}))
    elif name == "ping":
        pong = await ws.ping(arg)
        await pong
        await ws.send("pong:" + arg)
    elif name == "fragment":
        await ws.send(arg.split(","))  # an iterable is sent as fragments
    elif name == "close":
        code, _, reason = arg.partition(":")
        await ws.close(int(code), reason)
    else:
        await ws.send("unknown command: " + name)


async def server(deflate):
    async def handler(ws):
        report(event="open", protocol=ws.subprotocol or "", extensions=extensions(ws))
        await serve(ws)

    async with websockets.serve(
        handler, "127.0.0.1", 0,
        subprotocols=[SUBPROTOCOL],
        compression="deflate" if deflate else None,
        max_size=MAX_SIZE,
        ping_interval=None,
    ) as srv:
        port = next(iter(srv.sockets)).getsockname()[1]
        report(event="listening", port=port, version=websockets.__version__)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def client(url, deflate):
    async with websockets.connect(
        url,
        subprotocols=[SUBPROTOCOL],
        compression="deflate" if deflate else None,
        max_size=MAX_SIZE,
        ping_interval=None,
    ) as ws:
        report(event="open", protocol=ws.subprotocol or "", extensions=extensions(ws),
               version=websockets.__version__)
        await serve(ws)


def main():
    args = [a for a in sys.argv[1:] if a != "--deflate"]
    deflate = "--deflate" in sys.argv
    if args[:1] == ["server"]:
        asyncio.run(server(deflate))
    elif args[:1] == ["client"] and len(args) == 2:
        asyncio.run(client(args[1], deflate))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
