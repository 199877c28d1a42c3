"""Send an HTTP/1.1 request exactly as written, over a plain socket.

``requests`` re-encodes the query string and refuses some header bytes, so the
server never sees what a careless or hostile client really sends. Here the
request line and every header go out byte for byte; the answer is parsed by
http.client.
"""

import http.client
import json
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        return json.loads(self.body)


def as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


def send(
    base_url: str,
    method: str,
    target: str | bytes,
    headers: list[str | bytes] = (),
    body: bytes = b"",
    source_address: str | None = None,
    timeout: float = 10,
) -> Response:
    """``method target`` to the server at ``base_url``, with Host, Connection and Content-Length added.

    A POST body is sent as a form unless ``headers`` name another Content-Type.
    """
    url = urlsplit(base_url)
    lines = [b" ".join((as_bytes(method), as_bytes(target), b"HTTP/1.1")), as_bytes(f"Host: {url.netloc}")]
    lines += [b"Connection: close", *map(as_bytes, headers)]
    if body or method == "POST":
        if not any(line.lower().startswith(b"content-type:") for line in lines):
            lines.append(b"Content-Type: application/x-www-form-urlencoded")
        lines.append(as_bytes(f"Content-Length: {len(body)}"))
    source = (source_address, 0) if source_address else None
    with socket.create_connection((url.hostname, url.port), timeout=timeout, source_address=source) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        return Response(response.status, response.headers, response.read())
