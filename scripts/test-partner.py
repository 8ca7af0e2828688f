#!/usr/bin/env python3
"""test-partner.py - a small HTTPS partner endpoint for tests, the quickstart and benchmarks.

SUMMARY
    python3 scripts/test-partner.py --cert C --key K [--client-ca CA]
        [--host 127.0.0.1] [--port 0] [--port-file F] --record-dir D
        [--script S.json] [--name NAME] [--quiet | --announce]

DESCRIPTION
    Listens for HTTPS (TLS 1.2 or newer, HTTP/1.1 with keep-alive) and records every request
    it receives, then answers it from a script. Python 3 standard library only.

    With --client-ca it requires a client certificate signed by that CA (mutual TLS) and
    records the certificate's subject.

    With --port 0 it picks a free port. Once it is listening it writes the port, as decimal
    text and a newline, to --port-file (written to a temporary name, then renamed, so a
    reader never sees a partial file).

RECORDS
    Each request (except control requests) is written atomically to
        <record-dir>/<sanitised path>/<6-digit sequence>.json
    where the sanitised path is the URL path without its leading "/" and with every
    character other than A-Z a-z 0-9 . _ - replaced by "_" ("_root" for "/"), and the
    sequence counts every recorded request of this process from 1. A record holds:
        seq, method, path, query, headers (object, lower-case names; repeated headers
        joined with ", "), body (UTF-8 text) or bodyBase64 (when not UTF-8), receivedAt
        (epoch seconds), clientCertSubject ("O=...,CN=..." or null), connection (a number
        per TCP connection, from 1, so tests can count connection reuse), status (the status
        it answered, or null when the step sent none) and action (null or the step's action).
    The record is written before the answer is sent: once a client has an answer, its
    record exists.

SCRIPT
    A JSON object mapping a request path to a list of steps; "*" applies to every path
    that has no entry of its own:
        {"/referrals": [{"status": 503, "headers": {"Retry-After": "2"}}, {"status": 202}],
         "*": [{"status": 200, "delay": 0.5}]}
    Each request to a path consumes the next step of its list (counted per request path);
    the last step repeats. Steps:
        {"status": N, "headers": {...}, "body": "text", "delay": seconds}
                                       answer N (after the delay)
        {"action": "reset"}            read the request, then close the TCP connection
                                       abruptly (SO_LINGER 0: an RST), no answer
        {"action": "reset", "partial": true, "status": N}
                                       reset mid-response: send the status line, headers
                                       declaring a longer body and part of that body, then
                                       the RST (the record's status is N)
        {"action": "stall", "seconds": S, "status": N}
                                       send the status line and headers, then trickle the
                                       body at 1 byte/s for S seconds and close before
                                       the declared length is reached
        {"action": "hang", "seconds": S}
                                       read the request, send nothing for S seconds, close
    Without a script (or with no matching entry) the answer is 202 Accepted with the body
    {"received": true}.
    --script FILE is watched: it is re-read whenever it changes (inode, size or mtime), and
    the step counters restart. `PUT /_control/script` with the same JSON as its body does
    the same at run time. A script that does not parse is refused and the old one kept.

CONTROL
    GET /_control/health                 200 {"ok": true}
    GET /_control/requests[?path=/x]     JSON array of the records (of one path), by seq
    PUT /_control/script                 replace the script (400 if it is not valid)

OUTPUT
    --announce prints one line per recorded request to standard output, e.g.
        partner la-front-door: received referral 3f2a... (POST /referrals, 2481 bytes, status 202)
    where the referral id is read from "referralId" at the top level of a JSON body or under
    "referral". Nothing else from a body is ever printed. --quiet prints nothing at all but
    errors; by default one start-up line goes to standard error.

SIGNALS
    SIGTERM and SIGINT stop the server and exit with status 0.

SECURITY
    A test tool: it binds to the given host (127.0.0.1 by default) and should never face a
    real network. Record files are 0600 in 0700 directories. Request bodies over
    --max-body-bytes are refused with 413.
"""

import argparse
import base64
import http.server
import itertools
import json
import os
import re
import select
import signal
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
import urllib.parse

CONTROL_PREFIX = "/_control/"
DEFAULT_BODY = b'{"received": true}'
MAX_DELAY_SECONDS = 600.0
MAX_ACTION_SECONDS = 3600.0
SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
SHORT_NAMES = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "emailAddress": "emailAddress",
}


class ScriptError(ValueError):
    pass


def sanitise_path(path):
    """The record sub-directory for a URL path (see RECORDS)."""
    stripped = path.lstrip("/")
    if not stripped:
        return "_root"
    return re.sub(r"[^A-Za-z0-9._-]", "_", stripped)[:200]


def write_atomically(path, data, mode=0o600):
    """Write to a temporary name in the same directory, then rename over `path`."""
    directory = os.path.dirname(path) or "."
    fd, temp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def validate_script(value):
    """Checks the script's shape and bounds; returns it or raises ScriptError."""
    if not isinstance(value, dict):
        raise ScriptError("a script is a JSON object of path -> list of steps")
    for path, steps in value.items():
        if not isinstance(steps, list) or not steps:
            raise ScriptError("steps for %r must be a non-empty list" % path)
        for step in steps:
            if not isinstance(step, dict):
                raise ScriptError("a step must be an object")
            action = step.get("action")
            if action not in (None, "reset", "stall", "hang"):
                raise ScriptError("unknown action %r" % action)
            status = step.get("status", 202)
            if not isinstance(status, int) or not 100 <= status <= 599:
                raise ScriptError("status must be an integer 100-599")
            headers = step.get("headers", {})
            if not isinstance(headers, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and "\n" not in k + v and "\r" not in k + v
                for k, v in headers.items()
            ):
                raise ScriptError("headers must be an object of single-line strings")
            if not isinstance(step.get("body", ""), str):
                raise ScriptError("body must be a string")
            delay = step.get("delay", 0)
            if not isinstance(delay, (int, float)) or not 0 <= delay <= MAX_DELAY_SECONDS:
                raise ScriptError("delay must be 0-%d seconds" % MAX_DELAY_SECONDS)
            if not isinstance(step.get("partial", False), bool):
                raise ScriptError("partial must be true or false")
            seconds = step.get("seconds", 30)
            if not isinstance(seconds, (int, float)) or not 0 <= seconds <= MAX_ACTION_SECONDS:
                raise ScriptError("seconds must be 0-%d" % MAX_ACTION_SECONDS)
    return value


class Script:
    """The current script, its per-path step counters, and the watched script file."""

    def __init__(self, path=None):
        self.lock = threading.Lock()
        self.steps = {}
        self.counters = {}
        self.path = path
        self.file_key = None
        if path is not None:
            self._reload_file_locked(initial=True)

    def replace(self, value):
        validated = validate_script(value)
        with self.lock:
            self.steps = validated
            self.counters = {}

    def _reload_file_locked(self, initial=False):
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            if initial:
                raise
            return
        key = (info.st_ino, info.st_size, info.st_mtime_ns)
        if key == self.file_key:
            return
        self.file_key = key
        try:
            with open(self.path, "rb") as handle:
                value = validate_script(json.loads(handle.read(1 << 20)))
        except (OSError, ValueError) as error:
            if initial:
                raise
            print("test-partner: script file refused, keeping the old one: %s" % error, file=sys.stderr)
            return
        self.steps = value
        self.counters = {}

    def next_step(self, path):
        """The step for this request to `path` (None for the default answer)."""
        with self.lock:
            if self.path is not None:
                self._reload_file_locked()
            steps = self.steps.get(path) or self.steps.get("*")
            if not steps:
                return None
            index = self.counters.get(path, 0)
            self.counters[path] = index + 1
            return steps[min(index, len(steps) - 1)]


class Recorder:
    """Numbers requests and writes one JSON file per request."""

    def __init__(self, directory):
        self.directory = directory
        self.lock = threading.Lock()
        self.sequence = 0
        os.makedirs(directory, mode=0o700, exist_ok=True)

    def next_sequence(self):
        with self.lock:
            self.sequence += 1
            return self.sequence

    def write(self, record):
        sub = os.path.join(self.directory, sanitise_path(record["path"]))
        os.makedirs(sub, mode=0o700, exist_ok=True)
        data = json.dumps(record, sort_keys=True).encode("utf-8")
        write_atomically(os.path.join(sub, "%06d.json" % record["seq"]), data)

    def all(self, path=None):
        records = []
        if path is not None:
            directories = [os.path.join(self.directory, sanitise_path(path))]
        else:
            directories = [os.path.join(self.directory, d) for d in os.listdir(self.directory)]
        for sub in directories:
            if not os.path.isdir(sub):
                continue
            for name in os.listdir(sub):
                if not name.endswith(".json") or name.startswith("."):
                    continue
                with open(os.path.join(sub, name), "rb") as handle:
                    record = json.loads(handle.read())
                if path is None or record.get("path") == path:
                    records.append(record)
        records.sort(key=lambda r: r["seq"])
        return records


def subject_text(certificate):
    """'O=Example,CN=name' from the dict that SSLSocket.getpeercert() returns."""
    if not certificate:
        return None
    parts = []
    for rdn in certificate.get("subject", ()):
        for key, value in rdn:
            parts.append("%s=%s" % (SHORT_NAMES.get(key, key), value))
    return ",".join(parts)


def referral_id(body):
    """The referralId of a JSON body (top level or under "referral"), if it looks like an id."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    candidates = []
    if isinstance(document, dict):
        candidates.append(document.get("referralId"))
        inner = document.get("referral")
        if isinstance(inner, dict):
            candidates.append(inner.get("referralId"))
    for candidate in candidates:
        if isinstance(candidate, str) and SAFE_ID.match(candidate):
            return candidate
    return None


class PartnerHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "test-partner"
    sys_version = ""
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 120
    # Buffer each answer so its headers and body leave in one TLS record and one send():
    # two small writes would meet Nagle and delayed ACKs (40 ms per request).
    wbufsize = 64 * 1024

    def setup(self):
        super().setup()
        self.connection_id = next(self.server.connection_numbers)

    def log_message(self, format, *args):
        # The default handler logs every request line to stderr; records are the log here.
        pass

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def do_PATCH(self):
        self.handle_any()

    def do_HEAD(self):
        self.handle_any()

    # Reading

    def read_body(self):
        """The request body, or None after answering 400/413 (the connection then closes)."""
        limit = self.server.max_body_bytes
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.send_plain(400, b"bad chunk\n")
                    return None
                if size == 0:
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > limit:
                    self.send_plain(413, b"body too large\n")
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
        length_text = self.headers.get("Content-Length", "0")
        try:
            length = int(length_text)
        except ValueError:
            self.send_plain(400, b"bad content-length\n")
            return None
        if length < 0 or length > limit:
            self.send_plain(413, b"body too large\n")
            return None
        return self.rfile.read(length) if length else b""

    def send_plain(self, status, body, content_type="text/plain"):
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, value):
        body = json.dumps(value).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # Dispatch

    def handle_any(self):
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path or "/"
        body = self.read_body()
        if body is None:
            return
        if path.startswith(CONTROL_PREFIX):
            self.handle_control(path, parsed.query, body)
            return
        step = self.server.script.next_step(path) or {}
        action = step.get("action")
        partial = action == "reset" and step.get("partial", False)
        status = None if action in ("reset", "hang") and not partial else int(step.get("status", 202))
        headers = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = headers[key] + ", " + value if key in headers else value
        record = {
            "seq": self.server.recorder.next_sequence(),
            "method": self.command,
            "path": path,
            "query": parsed.query,
            "headers": headers,
            "receivedAt": time.time(),
            "clientCertSubject": subject_text(self.connection.getpeercert()),
            "connection": self.connection_id,
            "status": status,
            "action": action,
        }
        try:
            record["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            record["bodyBase64"] = base64.b64encode(body).decode("ascii")
        self.server.recorder.write(record)
        self.announce(path, body, status)

        if action == "reset":
            if partial:
                self.send_partial(status, step.get("headers", {}))
            self.reset_connection()
        elif action == "hang":
            self.hang(float(step.get("seconds", 30)))
        elif action == "stall":
            self.stall(status, step.get("headers", {}), float(step.get("seconds", 30)))
        else:
            self.answer(status, step)

    def announce(self, path, body, status):
        if not self.server.announce:
            return
        identifier = referral_id(body)
        what = "referral %s" % identifier if identifier else "request"
        line = "partner %s: received %s (%s %s, %d bytes, status %s)" % (
            self.server.name, what, self.command, path, len(body),
            status if status is not None else "none")
        with self.server.output_lock:
            print(line, flush=True)

    def handle_control(self, path, query, body):
        if path == "/_control/health" and self.command == "GET":
            self.send_json(200, {"ok": True})
        elif path == "/_control/requests" and self.command == "GET":
            wanted = urllib.parse.parse_qs(query).get("path", [None])[0]
            self.send_json(200, self.server.recorder.all(wanted))
        elif path == "/_control/script" and self.command == "PUT":
            try:
                self.server.script.replace(json.loads(body.decode("utf-8")))
            except (UnicodeDecodeError, ValueError) as error:
                self.send_json(400, {"error": str(error)})
                return
            self.send_json(200, {"ok": True})
        else:
            self.send_json(404, {"error": "unknown control request"})

    # Answers

    def answer(self, status, step):
        delay = float(step.get("delay", 0))
        if delay > 0:
            time.sleep(delay)
        if step:
            body = step.get("body", "").encode("utf-8")
        else:
            body = DEFAULT_BODY
        self.send_response(status)
        names = set()
        for name, value in step.get("headers", {}).items():
            self.send_header(name, value)
            names.add(name.lower())
        if body and "content-type" not in names:
            self.send_header("Content-Type", "application/json" if not step else "text/plain")
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_partial(self, status, headers):
        """The status line, headers declaring a 64-byte body, and 8 bytes of it."""
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "64")
            self.end_headers()
            self.wfile.write(b"partial-")
            self.wfile.flush()
            # Let the bytes leave before the RST, so the client sees a response cut short.
            time.sleep(0.2)
        except OSError:
            pass

    def reset_connection(self):
        """Close abruptly: SO_LINGER with a zero timeout makes close() send an RST."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.server.abandon(self.connection)

    def client_gone(self, wait):
        """Waits up to `wait` seconds; True once the client has closed its side."""
        try:
            readable, _, _ = select.select([self.connection], [], [], wait)
        except (OSError, ValueError):
            return True
        if not readable:
            return False
        try:
            return self.connection.recv(1) == b""
        except ssl.SSLWantReadError:
            return False
        except OSError:
            return True

    def hang(self, seconds):
        self.close_connection = True
        deadline = time.monotonic() + seconds
        while not self.server.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self.client_gone(min(left, 0.2)):
                break
        self.server.abandon(self.connection)

    def stall(self, status, headers, seconds):
        self.close_connection = True
        whole = int(seconds) + 1
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(whole))
        self.end_headers()
        self.wfile.flush()
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline and not self.server.stopping.is_set():
                self.wfile.write(b".")
                self.wfile.flush()
                if self.client_gone(min(1.0, max(0.0, deadline - time.monotonic()))):
                    break
        except OSError:
            pass
        self.server.abandon(self.connection)


class PartnerServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address, context, recorder, script, name, announce, max_body_bytes):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.context = context
        self.recorder = recorder
        self.script = script
        self.name = name
        self.announce = announce
        self.max_body_bytes = max_body_bytes
        self.connection_numbers = itertools.count(1)
        self.output_lock = threading.Lock()
        self.stopping = threading.Event()
        super().__init__(address, PartnerHandler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, so a slow or
        # failing client never blocks accept().
        request.settimeout(15)
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            tls.settimeout(PartnerHandler.timeout)
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            self.abandon(tls)

    def abandon(self, connection):
        try:
            connection.close()
        except OSError:
            pass

    def handle_error(self, request, client_address):
        # A client that went away mid-request is normal here.
        pass


def make_context(arguments):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(arguments.cert, arguments.key)
    if arguments.client_ca:
        context.load_verify_locations(cafile=arguments.client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["http/1.1"])
    return context


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="test-partner.py",
        description="An HTTPS partner endpoint for tests: records requests, answers from a script.",
        epilog="See the top of this file for the record format, the script format and control requests.",
    )
    parser.add_argument("--cert", required=True, help="server certificate (PEM)")
    parser.add_argument("--key", required=True, help="server private key (PEM)")
    parser.add_argument("--client-ca", help="require client certificates signed by this CA (PEM)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default 0)")
    parser.add_argument("--port-file", help="write the bound port here once listening")
    parser.add_argument("--record-dir", required=True, help="directory for request records")
    parser.add_argument("--script", help="JSON script file, re-read when it changes")
    parser.add_argument("--name", default="partner", help="label for --announce lines")
    parser.add_argument("--max-body-bytes", type=int, default=16 << 20,
                        help="refuse larger request bodies with 413 (default 16 MiB)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--quiet", action="store_true", help="print nothing but errors")
    output.add_argument("--announce", action="store_true",
                        help="print one line per received request (never the body)")
    return parser.parse_args(argv)


def main(argv):
    arguments = parse_arguments(argv)
    # A parent may start us with signals blocked (threads of some runtimes block them and a
    # spawned child inherits the mask): unblock the ones we stop on.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        script = Script(arguments.script)
    except (OSError, ValueError) as error:
        print("test-partner: cannot load script: %s" % error, file=sys.stderr)
        return 2
    recorder = Recorder(arguments.record_dir)
    server = PartnerServer(
        (arguments.host, arguments.port), make_context(arguments), recorder, script,
        arguments.name, arguments.announce, arguments.max_body_bytes,
    )
    port = server.server_address[1]

    stop = threading.Event()

    def request_stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    serving.start()
    if arguments.port_file:
        write_atomically(arguments.port_file, b"%d\n" % port)
    if not arguments.quiet:
        print("test-partner %s: listening on %s port %d" % (arguments.name, arguments.host, port),
              file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        pass
    server.stopping.set()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
