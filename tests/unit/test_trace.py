import socket
import threading

from doclab.render.sequence import render_svg, render_table
from doclab.run.trace import Body, UnixSocketRecorder, _HttpFramer, registry_exchanges


def test_framer_follows_length_chunked_and_bodiless_messages():
    heads, done = [], []
    framer = _HttpFramer(lambda line, headers, raw: (heads.append(line) or (Body.UNTIL_CLOSE if line.startswith("HTTP") else Body.LENGTH_OR_CHUNKED), None),
                         lambda: done.append(len(heads)))
    stream = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
              b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
              b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    forwarded = b"".join(framer.feed(stream[i:i + 7]) for i in range(0, len(stream), 7))
    assert forwarded == stream
    assert heads == ["HTTP/1.1 200 OK"] * 3 and done == [1, 2, 3]


def test_registry_log_lines_are_matched_by_trace_id():
    line = ('time="2026-11-28T05:11:05.949474264Z" level=info msg="response completed" http.request.method=GET '
            'http.request.uri="/v2/" http.request.useragent="docker UpstreamClient(Docker-Client/28.2.2 \\\\(linux\\\\) '
            'doclab-trace/{id})" http.response.duration=2.5ms http.response.status=200')
    found = registry_exchanges("\n".join([line.format(id="abc"), line.format(id="other")]), "abc")
    assert [(e.method, e.path, e.status) for e in found] == [("GET", "/v2/", 200)]
    assert round(found[0].finished - found[0].started, 4) == 0.0025


def test_recorder_forwards_requests_and_tags_the_user_agent(tmp_path):
    upstream_path = tmp_path / "upstream.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(upstream_path))
    server.listen(1)
    seen = []

    def answer():
        connection, _ = server.accept()
        request = b""
        while b"\r\n\r\n" not in request:
            request += connection.recv(1024)
        seen.append(request.decode())
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
        connection.close()

    thread = threading.Thread(target=answer)
    thread.start()
    recorder = UnixSocketRecorder(tmp_path / "proxy.sock", upstream_path, trace_id="t1")
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(str(recorder.listen))
    client.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\nUser-Agent: Docker-Client/28\r\n\r\n")
    reply = b""
    while not reply.endswith(b"OK"):
        reply += client.recv(1024)
    client.close()
    thread.join()
    exchanges = recorder.close()
    server.close()
    assert "User-Agent: Docker-Client/28 doclab-trace/t1" in seen[0]
    assert [(e.method, e.path, e.status) for e in exchanges] == [("GET", "/version", 200)]


def test_a_request_whose_client_has_just_exited_is_counted_before_its_response_ends(tmp_path):
    """A ``docker build`` that exits while its stream's end is still in the proxy (a loaded machine): the next
    block's ``fresh=true`` must know the build's tag, or it leaves the image and the next pull says "Already exists"."""
    upstream_path = tmp_path / "upstream.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(upstream_path))
    server.listen(1)
    release = threading.Event()

    def answer():
        connection, _ = server.accept()
        while b"\r\n\r\n" not in connection.recv(1024):
            pass
        connection.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        release.wait(10)  # the daemon's last chunk comes late
        connection.sendall(b"0\r\n\r\n")
        connection.close()

    thread = threading.Thread(target=answer)
    thread.start()
    recorder = UnixSocketRecorder(tmp_path / "proxy.sock", upstream_path)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(str(recorder.listen))
    client.sendall(b"POST /v1.41/build?t=my-alpine-image HTTP/1.1\r\nHost: x\r\n\r\n")
    assert client.recv(1024).startswith(b"HTTP/1.1 200 OK")
    client.close()
    threading.Timer(0.3, release.set).start()
    made = [(e.method, e.path, e.status) for e in recorder.so_far()]
    thread.join()
    recorder.close()
    server.close()
    assert made == [("POST", "/v1.41/build?t=my-alpine-image", 200)]


def test_sequence_diagram_has_an_arrow_per_request_and_response():
    exchanges = [
        {"source": "client", "target": "daemon", "method": "POST", "path": "/build", "status": 200, "started": 0, "finished": 3},
        {"source": "daemon", "target": "registry", "method": "GET", "path": "/v2/", "status": 200, "started": 1, "finished": 2},
    ]
    svg = render_svg(exchanges, "t")
    assert svg.count('marker-end="url(#seq-arrow)"') == 4
    assert svg.index("POST /build") < svg.index("GET /v2/") < svg.index(">200<")
    assert "| 2 | daemon → registry | `GET /v2/` | 200 | 1000.0 ms |" in render_table(exchanges)
