"""A raw WebSocket client that never reads: a tiny receive buffer (Node cannot set SO_RCVBUF), the handshake,
then `{}` text frames as fast as the socket takes them until recbot cuts the connection (or for 30 s).
Usage: slowWsClient.py PORT. Prints "cut off after N messages" or "never cut off"."""
import base64
import os
import socket
import time
import sys

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
s.connect(("127.0.0.1", int(sys.argv[1])))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall((
    "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key
).encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
assert head.startswith(b"HTTP/1.1 101"), head


def frame(payload):
    mask = os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


batch = b"".join(frame(b"{}") for _ in range(100))
sent = 0
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        s.sendall(batch)
        sent += 100
    except OSError:
        print("cut off after", sent, "messages")
        sys.exit(0)
print("never cut off")
