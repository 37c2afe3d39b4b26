"""Forward a TCP port inside a network namespace to a loopback port of the host.

A lab daemon in a namespace of its own reaches the lab registry through this: the listening
socket is made inside the namespace, every connection is made from the host's, and bytes are
copied both ways. Traffic stays on loopback on both sides.

    python -m doclab.lab.forward NETNS LISTEN_PORT TARGET_PORT
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import threading

_CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")


def listen_in_namespace(netns: str, port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:``port`` of ``netns``; the process stays in its own namespace."""
    host = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/var/run/netns/{netns}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen(64)
        finally:
            _setns(host)
    finally:
        os.close(host)
        os.close(target)
    return listener


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for end, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            try:
                end.shutdown(how)
            except OSError:
                pass


def _serve(client: socket.socket, target_port: int) -> None:
    try:
        upstream = socket.create_connection(("127.0.0.1", target_port), timeout=30)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
    back.start()
    _pipe(client, upstream)
    back.join()
    client.close()
    upstream.close()


def main(argv: list[str]) -> int:
    netns, listen_port, target_port = argv[0], int(argv[1]), int(argv[2])
    listener = listen_in_namespace(netns, listen_port)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print(f"forwarding {netns} 127.0.0.1:{listen_port} -> host 127.0.0.1:{target_port}", flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_serve, args=(client, target_port), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
