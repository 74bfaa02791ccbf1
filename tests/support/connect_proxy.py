"""A tiny HTTP CONNECT proxy on 127.0.0.1 that records what it was asked, for the proxy tests.

It tunnels to 127.0.0.1 only (the simulator), whatever host the client names, and keeps for each CONNECT the target
and the Proxy-Authorization header it carried.
"""

import base64
import selectors
import socket
import socketserver
import threading


class _Tunnel(socketserver.BaseRequestHandler):
    def handle(self):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        method, target = lines[0].split(" ")[:2]
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        self.server.seen.append({"method": method, "target": target,
                                 "authorization": headers.get("Proxy-Authorization")})
        if method != "CONNECT":
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        port = int(target.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as upstream:
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._pipe(upstream)

    def _pipe(self, upstream):
        with selectors.DefaultSelector() as selector:
            selector.register(self.request, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, self.request)
            while True:
                for key, _events in selector.select(timeout=30):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)


class ConnectProxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Tunnel)
        self.seen = []
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self):
        return self.server_address[1]

    def url(self, user=None, password=None):
        credentials = "%s:%s@" % (user, password) if user else ""
        return "http://%s127.0.0.1:%d" % (credentials, self.port)

    def targets(self):
        return [entry["target"] for entry in self.seen]

    def passwords(self):
        """The passwords of the Basic Proxy-Authorization headers seen."""
        found = []
        for entry in self.seen:
            scheme, _space, value = (entry["authorization"] or "").partition(" ")
            if scheme == "Basic":
                found.append(base64.b64decode(value).decode("utf-8").split(":", 1)[1])
        return found

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self.shutdown()
        self.server_close()
