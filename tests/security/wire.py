"""Raw-socket helpers: send bytes the way an attacker would, read the answer as a server sent it."""

from __future__ import annotations

import http.client
import json
import select
import socket
from typing import Any


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], Any]:
    """Status, headers (lower-case names) and JSON body of the next response on ``sock``."""
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = response.read()
    headers = {name.lower(): value for name, value in response.getheaders()}
    return response.status, headers, json.loads(body) if body else None


def send_until_answered(sock: socket.socket, head: bytes, filler: bytes, total: int) -> int:
    """Send ``head`` then up to ``total`` bytes of ``filler`` until the server answers; the bytes sent."""
    sock.sendall(head)
    sent = len(head)
    while sent < total:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            break
        try:
            sock.sendall(filler)
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += len(filler)
    return sent


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``sock`` within ``seconds`` (whatever it sends first)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True
