"""A stand-in for a remote village's WAN link: a plain TCP forwarder.

`deploy/remote-village.sh` points the village node's shovels and federation link at this
forwarder instead of straight at the district's node, so that "cutting the link" is
stopping this process (every connection across it drops at once and new ones are refused)
and "restoring" it is starting it again. Nothing else on the district's broker notices.

    python -m deploy.wan_link --listen 127.0.0.1:5674 --target 127.0.0.1:5672 [--pidfile FILE]

Standard library only; the forwarder knows nothing about AMQP.
"""
import argparse
import asyncio
import os
import signal
import sys


def _address(text):
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


async def _pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def _serve(listen, target):
    connections = set()

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(*target)
        except OSError:
            client_writer.close()
            return
        pair = (client_writer, server_writer)
        connections.add(pair)
        try:
            await asyncio.gather(_pipe(client_reader, server_writer),
                                 _pipe(server_reader, client_writer))
        finally:
            connections.discard(pair)

    server = await asyncio.start_server(handle, *listen, reuse_address=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    print(f"wan link {listen[0]}:{listen[1]} -> {target[0]}:{target[1]} (pid {os.getpid()})",
          flush=True)
    async with server:
        await stopping.wait()
    # a cut link: drop every connection at once rather than closing them politely
    for pair in list(connections):
        for writer in pair:
            transport = writer.transport
            if transport is not None:
                transport.abort()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, type=_address, help="HOST:PORT to listen on")
    parser.add_argument("--target", required=True, type=_address, help="HOST:PORT to forward to")
    parser.add_argument("--pidfile", help="write this process's id here")
    args = parser.parse_args(argv)
    if args.pidfile:
        with open(args.pidfile, "w", encoding="ascii") as handle:
            handle.write(f"{os.getpid()}\n")
    try:
        asyncio.run(_serve(args.listen, args.target))
    except OSError as exc:
        print(f"wan link: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
