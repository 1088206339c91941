"""`retention-report serve`: the site over HTTP on 127.0.0.1 only, a new publish seen at once, Ctrl+C exits 0;
and the CLI-built sample site's charts drawn in a browser over http (and from disk, for the fallback)."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retention_report.cli import app
from retention_report.serve import make_server
from test_site_browser import CHROMIUM, Visit, browser  # noqa: F401 (browser: the shared chromium fixture)

PROJECT = Path(__file__).parents[1]
SERVING = re.compile(r"Serving (?P<site>.+) at http://(?P<host>[0-9.]+):(?P<port>[0-9]+)/ \(Ctrl\+C stops\)")


def _command() -> list[str]:
    script = Path(sys.executable).parent / "retention-report"  # the venv's console script, as a user runs it
    return [str(script)] if script.exists() else [sys.executable, "-m", "retention_report.cli"]


class Server:
    """`retention-report serve` as a real process; its stderr goes to a file (never a pipe left unread)."""

    def __init__(self, site: Path, log: Path, port: int = 0):
        self.log = log
        self.handle = log.open("w")
        self.process = subprocess.Popen([*_command(), "serve", "--site", str(site), "--port", str(port)],
                                        stdout=self.handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not (match := SERVING.search(log.read_text())):
            assert self.process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"no 'Serving' line: {log.read_text()}"
            time.sleep(0.05)
        self.site, self.host, self.port = match["site"], match["host"], int(match["port"])
        self.url = f"http://{self.host}:{self.port}"

    def get(self, path: str) -> tuple[int, str, "http.client.HTTPMessage"]:
        try:
            with urllib.request.urlopen(f"{self.url}/{path}", timeout=10) as response:
                return response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace"), error.headers

    def stop(self, strict: bool = True) -> int:
        """Ctrl+C it and return its exit code. Not stopped within 30 s: its threads' stacks are taken (serve prints
        them on SIGUSR1) and it is killed; `strict` fails the test, else (a test about something else) it warns."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # what Ctrl+C sends
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGUSR1)
            time.sleep(1)
            self.process.kill()
            code = self.process.wait()
            message = f"serve did not stop within 30 s of SIGINT; its output:\n{self.log.read_text()}"
            if strict:
                raise AssertionError(message)
            warnings.warn(message)
        self.handle.close()
        return code


@pytest.fixture
def site(tmp_path) -> Path:
    site = tmp_path / "reports" / "_site"
    _write_site(site, "first")
    private = tmp_path / "reports" / "private"
    private.mkdir()
    (private / "call_list.csv").write_text("customer,email\nc1,ann@example.com\n")
    return site


def _write_site(site: Path, version: str) -> None:
    (site / "2024-Q2").mkdir(parents=True)
    (site / "index.html").write_text(f"<h1>landing {version}</h1>")
    (site / "2024-Q2" / "index.html").write_text(f"<h1>2024-Q2 summary {version}</h1>")
    (site / "2024-Q2" / "cohorts.html").write_text(f"<h1>2024-Q2 cohorts {version}</h1>")
    (site / "2024-Q2" / "data").mkdir()  # a folder without index.html
    (site / "site_libs").mkdir()
    (site / "site_libs" / "search.mjs").write_text("export const found = 1;\n")


@pytest.fixture
def server(site, tmp_path):
    running = Server(site, tmp_path / "serve.log")
    yield running
    running.stop(strict=False)  # the tests named ctrl_c hold Ctrl+C to its promise


def test_it_serves_the_site_its_sub_folders_and_404_for_anything_else(server, site):
    assert server.site == str(site)
    assert server.get("")[:2] == (200, "<h1>landing first</h1>")
    assert server.get("index.html")[:2] == (200, "<h1>landing first</h1>")
    assert server.get("2024-Q2/")[:2] == (200, "<h1>2024-Q2 summary first</h1>")
    assert server.get("2024-Q2/cohorts.html")[:2] == (200, "<h1>2024-Q2 cohorts first</h1>")
    status, _, headers = server.get("2024-Q2/cohorts.html")
    assert headers["Cache-Control"] == "no-cache" and headers["Content-Type"].startswith("text/html")
    status, body, headers = server.get("site_libs/search.mjs")
    assert status == 200 and headers["Content-Type"] == "text/javascript"  # runnable as a module script
    assert server.get("2024-Q3/index.html")[0] == 404
    assert server.get("2024-Q2/nps.html")[0] == 404
    # A folder without index.html is not listed (as on a static host).
    status, body, _ = server.get("2024-Q2/data/")
    assert status == 404 and "Directory listing" not in body
    # The private folder beside the site is out of reach, however the path is written.
    for path in ["/../private/call_list.csv", "/%2e%2e/private/call_list.csv", "/..%2fprivate/call_list.csv"]:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 404 and b"ann@example.com" not in response.read(), path
        connection.close()
    # One line per request, on the server's own output.
    deadline = time.monotonic() + 5
    while "GET /2024-Q3/index.html 404" not in server.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "GET /2024-Q3/index.html 404" in server.log.read_text()


def _listening(port: int) -> list[str]:
    """Local addresses of the sockets listening on `port`, from the kernel's tables (hex, as /proc shows them)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if int(hex_port, 16) == port and state == "0A":  # 0A: LISTEN
                found.append(address)
    return found


def _other_addresses() -> set[str]:
    """This machine's non-loopback IPv4 addresses (a UDP connect picks a route and sends nothing)."""
    found = set()
    for target in ("10.255.255.255", "192.0.2.1"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.connect((target, 9))
                found.add(probe.getsockname()[0])
        except OSError:
            pass
    try:
        found.update(socket.gethostbyname_ex(socket.gethostname())[2])
    except OSError:
        pass
    return {a for a in found if not a.startswith("127.") and a != "0.0.0.0"}


def test_it_listens_on_127_0_0_1_only(server):
    assert server.host == "127.0.0.1"
    if Path("/proc/net/tcp").exists():
        assert _listening(server.port) == ["0100007F"]  # 127.0.0.1, and no socket on 0.0.0.0 or IPv6
    for address in _other_addresses():
        with pytest.raises(OSError):  # refused: nothing listens there
            socket.create_connection((address, server.port), timeout=3).close()


def test_the_bound_address_in_process_is_the_loopback(site):
    with make_server(site, 0, log_to=None) as httpd:
        host, port = httpd.server_address[:2]
        assert host == "127.0.0.1" and port > 0
        assert httpd.socket.getsockname()[0] == "127.0.0.1"


def test_a_site_swapped_in_by_a_new_publish_is_served_at_once(server, site, tmp_path):
    assert server.get("2024-Q2/cohorts.html")[1] == "<h1>2024-Q2 cohorts first</h1>"
    new = tmp_path / "reports" / ".site.next"
    _write_site(new, "second")
    (new / "2024-Q3").mkdir()
    (new / "2024-Q3" / "index.html").write_text("<h1>2024-Q3 summary</h1>")
    os.replace(site, tmp_path / "reports" / ".site.previous")  # as publish does where it cannot exchange
    os.replace(new, site)
    assert server.get("")[1] == "<h1>landing second</h1>"
    assert server.get("2024-Q2/cohorts.html")[1] == "<h1>2024-Q2 cohorts second</h1>"
    assert server.get("2024-Q3/index.html")[:2] == (200, "<h1>2024-Q3 summary</h1>")


def test_ctrl_c_stops_it_with_exit_0(site, tmp_path):
    running = Server(site, tmp_path / "serve.log")
    assert running.get("")[0] == 200
    assert running.stop() == 0
    assert "Traceback" not in running.log.read_text()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", running.port), timeout=3).close()


def test_ctrl_c_stops_it_while_a_client_holds_a_connection_open_without_asking(site, tmp_path):
    # As a browser's preconnected socket does: the thread serving it waits for a request line that never comes.
    running = Server(site, tmp_path / "serve.log")
    with socket.create_connection((running.host, running.port), timeout=5) as silent:
        assert running.get("")[0] == 200
        assert running.stop() == 0
        assert "Traceback" not in running.log.read_text()
        silent.settimeout(5)
        assert silent.recv(1) == b""  # the process is gone, its end of the connection closed


def test_a_port_in_use_fails_with_exit_2_naming_it(site, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([*_command(), "serve", "--site", str(site), "--port", str(port)], capture_output=True,
                              text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"port {port} on 127.0.0.1 is in use" in " ".join(done.stderr.split())


def test_a_missing_or_unbuilt_site_fails_with_exit_2_saying_to_build_first(tmp_path):
    runner = CliRunner()
    missing = tmp_path / "reports" / "_site"
    result = runner.invoke(app, ["serve", "--site", str(missing), "--port", "0"])
    assert result.exit_code == 2
    text = " ".join(result.stderr.split())
    assert f"--site {missing}: no such folder" in text and "build it first" in text
    missing.mkdir(parents=True)  # a folder that holds no site
    result = runner.invoke(app, ["serve", "--site", str(missing), "--port", "0"])
    assert result.exit_code == 2 and "holds no index.html" in result.stderr and "build it first" in result.stderr
    for folder in ["/", str(Path.home()), str(PROJECT)]:  # folders that hold far more than a site
        result = runner.invoke(app, ["serve", "--site", folder, "--port", "0"])
        assert result.exit_code == 2 and "refusing to serve" in result.stderr, folder


def test_make_serve_passes_site_and_port_as_inert_arguments(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    marker = tmp_path / "ran"
    argv = tmp_path / "argv.py"
    argv.write_text("import json, sys\nprint('ARGV' + json.dumps(sys.argv[1:]))\n")
    hostile = {"SITE": f"s\"; touch {marker}; echo \"", "PORT": f"`touch {marker}`$$(touch {marker})"}
    done = subprocess.run(["make", "--no-print-directory", "-s", "-o", "setup", "-C", str(PROJECT), "serve",
                           f"RR={sys.executable} {argv}", *(f"{k}={v}" for k, v in hostile.items())],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("ARGV"))
    assert json.loads(line[4:]) == ["serve", "--site", hostile["SITE"], "--port", hostile["PORT"].replace("$$", "$")]
    assert not marker.exists()
    # The defaults: the project's site on port 8000.
    done = subprocess.run(["make", "--no-print-directory", "-s", "-o", "setup", "-C", str(PROJECT), "serve",
                           f"RR={sys.executable} {argv}"], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k not in ("SITE", "PORT")})
    line = next(line for line in done.stdout.splitlines() if line.startswith("ARGV"))
    assert json.loads(line[4:]) == ["serve", "--site", "reports/_site", "--port", "8000"]


# The sample site built with the CLI (the nbconvert fallback), served by `retention-report serve` and opened
# in Debian's chromium.

@pytest.fixture(scope="module")
def cli_site(tmp_path_factory, sample_data):
    from conftest import SAMPLE_PERIOD
    from retention_report import pipeline

    root = tmp_path_factory.mktemp("served")

    class IsolatedBuild(pipeline.Build):  # the build folder under tmp, not the project's build/
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("build_root", root / "build")
            super().__init__(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "Build", IsolatedBuild)
        result = CliRunner().invoke(app, ["build", "--period", SAMPLE_PERIOD, "--data", str(sample_data),
                                          "--site", str(root / "reports" / "_site"), "--renderer", "nbconvert"])
    assert result.exit_code == 0, result.output
    return root / "reports" / "_site"


@pytest.fixture(scope="module")
def cli_server(cli_site, tmp_path_factory):
    running = Server(cli_site, tmp_path_factory.mktemp("serve-log") / "serve.log")
    yield running
    assert running.stop() == 0


def _charts_drawn(page, path: str) -> int:
    charts = page.locator(".rr-chart-canvas")
    assert charts.count() > 0, f"{path}: no chart"
    for i in range(charts.count()):
        charts.nth(i).locator("svg g.role-mark > *").first.wait_for(state="attached", timeout=15000)
        assert charts.nth(i).locator("svg g.role-mark > *").count() > 0, f"{path}: chart {i} has no marks"
    return charts.count()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")
def test_the_served_sample_site_draws_its_charts_over_http_and_from_disk(browser, cli_server, cli_site):
    from conftest import SAMPLE_PERIOD

    visit = Visit(browser, cli_server.url)
    page = visit.open("")
    assert page.locator(f'a[href="{SAMPLE_PERIOD}/index.html"]').count() > 0  # the landing page lists it
    assert SAMPLE_PERIOD in visit.open(f"{SAMPLE_PERIOD}/index.html").title()
    drawn = {path: _charts_drawn(visit.open(path), path) for path in
             (f"{SAMPLE_PERIOD}/cohorts.html", f"{SAMPLE_PERIOD}/nps.html")}
    assert visit.errors == [] and visit.blocked == [], (visit.errors, visit.blocked)
    assert f"{cli_server.url}/vega-bundle.js" in visit.requested  # the site's own bundle, over http
    visit.close()

    # The fallback site also opens from disk (file://), as the README says: the same charts, no error.
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    for path, count in drawn.items():
        page.goto((cli_site / path).as_uri(), wait_until="load")
        assert _charts_drawn(page, path) == count
    assert errors == [], errors
    context.close()
