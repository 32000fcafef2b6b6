#!/usr/bin/env python3
"""What one more subscriber costs Redis per message: the floor under the
per-gateway figure of `tactical-link-bench redis-cost`.

A fresh redis-server on a free loopback port, N `redis-cli SUBSCRIBE`
processes on one channel (they read and discard), then M messages of the
benchmark's size published one at a time at R per second (as services
publish: each message is written to each subscriber on its own). Redis's
CPU time (INFO cpu, user + sys) over the run, per message. Counts in turn,
up then down, for several trials; prints each figure and the medians.

Usage: subscriber-cost.py [--subscribers 1,2,4,8] [--messages 5000]
                          [--rate 1000] [--trials 3]
Needs only python3, redis-server and redis-cli.
"""
import argparse
import socket
import statistics
import subprocess
import time


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for arg in args:
        arg = arg if isinstance(arg, bytes) else str(arg).encode()
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out


def reply(sock):
    """Reads one whole reply (a status, an integer or one bulk string)."""
    data = b""
    while True:
        data += sock.recv(65536)
        if data.startswith(b"$"):
            header, _, rest = data.partition(b"\r\n")
            if len(rest) >= int(header[1:]) + 2:
                return rest[: int(header[1:])]
        elif data.endswith(b"\r\n"):
            return data


def cpu_seconds(sock):
    sock.sendall(resp("INFO", "cpu"))
    fields = dict(
        line.split(":", 1)
        for line in reply(sock).decode().splitlines()
        if ":" in line
    )
    return float(fields["used_cpu_sys"]) + float(fields["used_cpu_user"])


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def measure(subscribers, messages, rate):
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    readers = []
    try:
        for _ in range(50):
            try:
                sock = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.1)
        readers = [
            subprocess.Popen(
                ["redis-cli", "-p", str(port), "subscribe", "system_events"],
                stdout=subprocess.DEVNULL,
            )
            for _ in range(subscribers)
        ]
        while True:
            sock.sendall(resp("PUBSUB", "NUMSUB", "system_events"))
            time.sleep(0.1)
            if sock.recv(1024).rstrip().endswith(b":%d" % subscribers):
                break
        payload = (
            b'{"type":"pipeline.stage","run_id":"bench-0001","stage":"radar",'
            b'"status":"processing","detail":"' + b"x" * 90 + b'"}'
        )
        before = cpu_seconds(sock)
        start = time.monotonic()
        for n in range(messages):
            sock.sendall(resp("PUBLISH", "system_events", payload))
            reply(sock)
            pause = start + (n + 1) / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        time.sleep(0.2)
        return (cpu_seconds(sock) - before) / messages * 1e6
    finally:
        for reader in readers:
            reader.kill()
            reader.wait()
        server.kill()
        server.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", default="1,2,4,8")
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    counts = [int(n) for n in args.subscribers.split(",")]
    figures = {n: [] for n in counts}
    for trial in range(args.trials):
        order = counts if trial % 2 == 0 else counts[::-1]
        for n in order:
            figure = measure(n, args.messages, args.rate)
            figures[n].append(figure)
            print(f"trial {trial + 1}: {n} subscriber(s): {figure:.1f} µs per message", flush=True)
    base = statistics.median(figures[counts[0]])
    print("\nsubscribers | Redis CPU per message (median) | × first | range")
    for n in counts:
        median = statistics.median(figures[n])
        low, high = min(figures[n]), max(figures[n])
        print(f"{n} | {median:.1f} µs | {median / base:.2f}× | {low:.1f}–{high:.1f} µs")


if __name__ == "__main__":
    main()
