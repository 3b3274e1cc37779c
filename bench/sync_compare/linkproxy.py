"""A TCP proxy that puts a cheap mobile link between a device and a server on loopback, and counts
what crosses it; both systems of the comparison go through the same one.

The link: ``--rate`` bytes a second each way (8,000 = 64 kbit/s), shared by every connection
through the proxy as one radio link would be, and ``--delay`` seconds one way. A new connection
costs one round trip before its first bytes leave (TCP's handshake); TLS is not modelled. What
is counted: connections and the bytes of TCP payload each way (HTTP headers included, TCP/IP
headers not). The link can be switched between ``fast`` (no limit, no delay: loopback, still
counting) and ``slow`` at run time, so a device keeps one server URL (PouchDB's checkpoints are
named after it) for its bootstrap on loopback and its day on the slow link.

Runs as its own process (the devices' CPU is not shared with it): it prints
``READY <port> <control_port>`` and then takes one-line commands on the control port:
``stats`` (a JSON line), ``reset`` (counters to zero), ``drop`` (close every open connection,
as hours between two syncs would), ``fast``, ``slow``; each answers one line.

    python bench/sync_compare/linkproxy.py --target 127.0.0.1:8000 [--rate 8000] [--delay 0.15]
"""
import argparse
import asyncio
import json
import sys

CHUNK = 1024        # bytes read at a time: a slow link delivers a body piece by piece, not at once


class Link:
    """One direction of the link: when each piece of data arrives at the far end."""

    def __init__(self, rate, delay):
        self.rate, self.delay, self.slow, self.free_at = rate, delay, False, 0.0

    def arrival(self, size, now):
        if not self.slow:
            return now
        start = max(now, self.free_at)
        self.free_at = start + size / self.rate
        return self.free_at + self.delay


class Proxy:
    def __init__(self, target, rate, delay):
        self.host, self.port = target
        self.up, self.down = Link(rate, delay), Link(rate, delay)
        self.controls = set()
        self.open = set()           # the writers of open connections (control ones included)
        self.tasks = set()          # the handlers running, waited for at shutdown
        self.reset()

    def reset(self):
        self.stats = {"connections": 0, "bytes_up": 0, "bytes_down": 0}

    def set_slow(self, slow):
        for link in (self.up, self.down):
            link.slow, link.free_at = slow, 0.0

    def drop(self):
        for writer in list(self.open):
            writer.close()
        self.open.clear()

    async def handle(self, creader, cwriter):
        self.tasks.add(asyncio.current_task())
        loop = asyncio.get_running_loop()
        self.stats["connections"] += 1
        # the handshake: the device's first bytes leave one round trip after it called connect()
        not_before = loop.time() + (2 * self.up.delay if self.up.slow else 0.0)
        try:
            sreader, swriter = await asyncio.open_connection(self.host, self.port)
        except OSError:
            cwriter.close()
            return
        self.open.update((cwriter, swriter))
        try:
            await asyncio.gather(self.pump(creader, swriter, self.up, "bytes_up", not_before),
                                 self.pump(sreader, cwriter, self.down, "bytes_down", 0.0))
        finally:
            for w in (cwriter, swriter):
                self.open.discard(w)
                w.close()
            self.tasks.discard(asyncio.current_task())

    async def pump(self, reader, writer, link, counter, not_before):
        """Read as data comes; deliver each piece when the link would have carried it."""
        loop = asyncio.get_running_loop()
        queue = asyncio.Queue()

        async def deliver():
            while True:
                item = await queue.get()
                if item is None:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                due, data = item
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        last = not_before
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    break
                self.stats[counter] += len(data)
                # nothing leaves before the handshake's round trip is over; then it queues for the link
                last = max(last, link.arrival(len(data), max(loop.time(), not_before)))
                queue.put_nowait((last, data))
        except (ConnectionError, OSError):
            pass
        finally:
            queue.put_nowait(None)
            try:
                await sender
            except (ConnectionError, OSError):
                pass

    async def control(self, reader, writer):
        self.tasks.add(asyncio.current_task())
        self.controls.add(writer)
        while True:
            line = (await reader.readline()).decode().strip()
            if not line:
                break
            if line == "stats":
                answer = json.dumps(self.stats)
            elif line == "reset":
                self.reset()
                answer = "ok"
            elif line == "drop":
                self.drop()
                answer = "ok"
            elif line in ("fast", "slow"):
                self.set_slow(line == "slow")
                answer = "ok"
            else:
                answer = "error: unknown command"
            writer.write(answer.encode() + b"\n")
            await writer.drain()
        writer.close()
        self.controls.discard(writer)
        self.tasks.discard(asyncio.current_task())

    async def shut(self):
        """Close every connection and let the handlers end, so that none is cut mid-way."""
        self.drop()
        for writer in list(self.controls):
            writer.close()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=5)


async def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", required=True, help="host:port of the server")
    parser.add_argument("--rate", type=float, default=8000.0, help="bytes a second each way when slow")
    parser.add_argument("--delay", type=float, default=0.15, help="seconds one way when slow")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    proxy = Proxy((host, int(port)), args.rate, args.delay)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", args.port)
    control = await asyncio.start_server(proxy.control, "127.0.0.1", 0)
    print(f"READY {server.sockets[0].getsockname()[1]} {control.sockets[0].getsockname()[1]}", flush=True)
    # ends when the benchmark closes our stdin (or dies)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.close()
    control.close()
    await proxy.shut()


if __name__ == "__main__":
    asyncio.run(main())
