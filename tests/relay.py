"""A byte relay between standard input/output and a TCP port, for ssh's ProxyCommand.

Run as ``python3 relay.py HOST PORT``: a test that puts zonesmith in a network
namespace of its own reaches the test's sshd through it (under ``nsenter``),
while the DNS servers beside that sshd stay out of zonesmith's reach.
"""

from __future__ import annotations

import os
import selectors
import socket
import sys


def relay(host: str, port: int) -> None:
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.settimeout(None)
        selector = selectors.DefaultSelector()
        selector.register(sys.stdin.fileno(), selectors.EVENT_READ)
        selector.register(sock, selectors.EVENT_READ)
        while True:
            for ready, _ in selector.select():
                if ready.fileobj is sock:
                    data = sock.recv(65536)
                    if not data:
                        return
                    os.write(sys.stdout.fileno(), data)
                else:
                    data = os.read(sys.stdin.fileno(), 65536)
                    if not data:
                        sock.shutdown(socket.SHUT_WR)
                        selector.unregister(sys.stdin.fileno())
                        continue
                    sock.sendall(data)


if __name__ == "__main__":
    relay(sys.argv[1], int(sys.argv[2]))
