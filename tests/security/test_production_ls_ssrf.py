"""Label Studio's SSRF guard as docker-compose configures it, in LS's own code (its virtualenv, settings read
from compose's environment): the shim's address on ls-egress passes, every private, loopback, link-local and
metadata address — however the URL spells it — is refused, before any connection is made."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from include.core.settings import PROJECT_ROOT

pytestmark = pytest.mark.e2e

VENV = PROJECT_ROOT / os.environ.get("LS_VENV", ".venv-ls")  # the Makefile's default is relative

PROBE = r"""
import json, os, sys, threading, http.server, socketserver
import django
django.setup()
from django.conf import settings
from core.utils.io import validate_ip, validate_url_for_ssrf, ssrf_safe_get

def outcome(fn, arg):
    try:
        fn(arg)
        return "allowed"
    except Exception as error:
        return "refused: " + type(error).__name__

hits = []
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        hits.append(self.path)
        self.send_response(200); self.end_headers(); self.wfile.write(b"internal")
    def log_message(self, *args):
        pass
server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
port = server.server_address[1]
ips, urls = json.loads(sys.argv[1]), json.loads(sys.argv[2])
out = {
    "settings": [
        settings.SSRF_PROTECTION_ENABLED, settings.ML_BLOCK_LOCAL_IP, settings.USE_DEFAULT_BANNED_SUBNETS
    ],
    "ips": {ip: outcome(validate_ip, ip) for ip in ips},
    "urls": {url: outcome(validate_url_for_ssrf, url) for url in urls},
    "fetch": outcome(ssrf_safe_get, f"http://127.0.0.1:{port}/secret"),
}
server.shutdown()
out["hits"] = hits
print("RESULT " + json.dumps(out))
"""

ALLOWED_IPS = [
    "172.29.253.9",
    "172.29.253.10",
    "172.29.253.11",
    "172.29.253.15",
    "93.184.215.14",
    "2606:4700::6810:84e5",
]
REFUSED_IPS = [
    "127.0.0.1",
    "10.0.0.5",
    "172.17.0.1",
    "172.29.253.1",  # the ls-egress gateway: the Docker host
    "172.29.253.2",
    "172.29.253.7",
    "172.29.253.16",
    "172.29.253.130",  # where other containers land on ls-egress
    "192.168.1.10",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",
    "0.0.0.0",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:172.29.253.10",  # the shim's address, IPv4-mapped: refused (mapped addresses stay banned)
    "fd00::1",
    "fe80::1",
]
REFUSED_URLS = [
    "http://localhost:8080/api/projects",
    "http://127.1/",
    "http://2130706433/",  # 127.0.0.1 in decimal
    "http://0x7f000001/",
    "http://017700000001/",  # octal
    "http://[::1]:8080/",
    "http://169.254.169.254/latest/meta-data/",
    "http://user:pw@127.0.0.1/",
    "http://172.29.253.1:8080/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "ftp://172.29.253.10/",
]
# The shim's webhook and the ML backend's /ml (docker-compose.yaml: webhook-shim, ml-backend on ls-egress).
ALLOWED_URLS = ["http://172.29.253.10:8081/webhooks/label-studio", "http://172.29.253.9:8082/ml"]


def test_label_studio_refuses_every_internal_address_but_the_allow_list(tmp_path: Path) -> None:
    python = VENV / "bin" / "python"
    packages = sorted(VENV.glob("lib/python3*/site-packages/label_studio"))
    assert python.exists() and packages, f"no Label Studio in {VENV}: `make ls-venv` (CI builds it)"
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yaml").read_text())
    ls_env = compose["services"]["label-studio"]["environment"]
    keys = ("SSRF_PROTECTION_ENABLED", "ML_BLOCK_LOCAL_IP", "USE_DEFAULT_BANNED_SUBNETS")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "DJANGO_SETTINGS_MODULE": "core.settings.label_studio",
        "PYTHONPATH": str(packages[0]),
        "LABEL_STUDIO_BASE_DATA_DIR": str(tmp_path / "ls-data"),
        **{k: ls_env[k] for k in (*keys, "USER_ADDITIONAL_BANNED_SUBNETS")},
    }
    res = subprocess.run(
        [
            str(python),
            "-c",
            PROBE,
            json.dumps(ALLOWED_IPS + REFUSED_IPS),
            json.dumps(REFUSED_URLS + ALLOWED_URLS),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=packages[0],
    )
    lines = [line for line in res.stdout.splitlines() if line.startswith("RESULT ")]
    assert res.returncode == 0 and lines, res.stderr[-3000:]
    out = json.loads(lines[-1].removeprefix("RESULT "))
    print(json.dumps(out, indent=1))
    assert out["settings"] == [True, True, False]
    for ip in ALLOWED_IPS:
        assert out["ips"][ip] == "allowed", ip
    for ip in REFUSED_IPS:
        assert out["ips"][ip].startswith("refused"), ip
    for url in REFUSED_URLS:
        assert out["urls"][url].startswith("refused"), url
    for url in ALLOWED_URLS:
        assert out["urls"][url] == "allowed", url
    # LS's guarded fetch never reached the internal server.
    assert out["fetch"].startswith("refused") and out["hits"] == []
