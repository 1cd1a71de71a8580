"""A SOCKS5 proxy on 127.0.0.1 (no authentication, CONNECT only) that can trickle its handshake.

``SocksProxy(interval)`` answers the SOCKS5 greeting and CONNECT request one byte every
``interval`` seconds (0: at once), then relays bytes both ways to the address asked for.
``accepted`` counts the clients it accepted.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

from testbed.serving import TcpListener, shut_down


class SocksProxy(TcpListener):
    def __init__(self, interval: float = 0.0) -> None:
        self.interval = interval
        super().__init__(name="socks-proxy")

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.port}"

    def connected(self, client: socket.socket) -> None:
        threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _send(self, sock: socket.socket, data: bytes) -> None:
        for byte in data:
            if self.interval:
                time.sleep(self.interval)
            sock.sendall(bytes([byte]))

    def _serve(self, client: socket.socket) -> None:
        try:
            _, methods = client.recv(2)
            client.recv(methods)
            self._send(client, b"\x05\x00")  # version 5, no authentication
            _, _, _, kind = client.recv(4)
            if kind == 1:
                host = socket.inet_ntoa(client.recv(4))
            else:
                host = client.recv(client.recv(1)[0]).decode()
            port = struct.unpack("!H", client.recv(2))[0]
            upstream = socket.create_connection((host, port), timeout=10)
            self._send(client, b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", port))
        except (OSError, ValueError):
            client.close()
            return
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        shut_down(source, sink)
