"""The original design of Tactical Link, as a benchmark baseline.

A FastAPI app whose background task subscribes to the Redis pub/sub channel
(redis-py 5, redis.asyncio) and re-broadcasts every message to every
connected WebSocket by looping over a list of sockets, as the design document
describes. No validation, no state, no history: the floor of what the Rust
gateway replaces. It prints `tactical-link listening on http://ADDR` once it
is subscribed, so `tactical-link bench --spawn-baseline` starts it like the
gateway.
"""

import argparse
import asyncio
import contextlib
import socket

import redis.asyncio as aioredis
import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

clients: list[WebSocket] = []
app = FastAPI()


@app.websocket("/dashboard/ws")
async def dashboard(ws: WebSocket) -> None:
    await ws.accept()
    clients.append(ws)
    try:
        while True:
            await ws.receive_text()  # the design only listens for disconnects
    except WebSocketDisconnect:
        pass
    finally:
        with contextlib.suppress(ValueError):
            clients.remove(ws)


async def bridge(url: str, channel: str, subscribed: asyncio.Event) -> None:
    """Subscribe, re-broadcast every message, reconnect on failure."""
    while True:
        try:
            pubsub = aioredis.from_url(url).pubsub()
            await pubsub.subscribe(channel)
            subscribed.set()
            async for message in pubsub.listen():
                if message["type"] != "message":
                    continue
                data = message["data"].decode()
                for ws in list(clients):
                    try:
                        await ws.send_text(data)
                    except Exception:
                        with contextlib.suppress(ValueError):
                            clients.remove(ws)
        except (aioredis.ConnectionError, OSError):
            await asyncio.sleep(1)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:8000")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--channel", default="system_events")
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(4096)
    subscribed = asyncio.Event()
    task = asyncio.create_task(bridge(args.redis, args.channel, subscribed))
    await subscribed.wait()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", backlog=4096))
    print(f"tactical-link listening on http://{host}:{sock.getsockname()[1]}", flush=True)
    await server.serve(sockets=[sock])
    task.cancel()


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
