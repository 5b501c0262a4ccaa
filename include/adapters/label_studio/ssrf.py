"""Label Studio's SSRF guard as an allow-list: its default banned ranges less the few addresses LS may call.

LS (1.23) has no allow-list: with SSRF_PROTECTION_ENABLED (webhooks, S3 endpoints, URL imports) and
ML_BLOCK_LOCAL_IP (ML backends) it refuses any address in its default banned subnets (private, loopback,
link-local, ...) plus USER_ADDITIONAL_BANNED_SUBNETS. docker-compose turns the defaults off
(USE_DEFAULT_BANNED_SUBNETS=false) and bans, through USER_ADDITIONAL_BANNED_SUBNETS, exactly those
defaults less one small range on the `ls-egress` network where the shim (the webhook and /ml target) and an
S3-compatible inbox endpoint (MinIO) sit at fixed addresses. Everything else private — Postgres, Airflow,
Triton, the Docker host, cloud metadata at 169.254.169.254 — stays refused.

`python -m include.adapters.label_studio.ssrf 172.29.253.8/29` prints the value for docker-compose.yaml;
tests/unit/test_compose.py checks the file holds it.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Iterable
from typing import Any

# label_studio/core/utils/io.py, validate_ip(), as of 1.23.2 (tests compare it with the installed LS).
LS_DEFAULT_BANNED_SUBNETS: tuple[str, ...] = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "233.252.0.0/24",
    "240.0.0.0/4",
    "255.255.255.255/32",
    "::/128",
    "::1/128",
    "::ffff:0:0/96",
    "::ffff:0:0:0/96",
    "64:ff9b::/96",
    "64:ff9b:1::/48",
    "100::/64",
    "2001:0000::/32",
    "2001:20::/28",
    "2001:db8::/32",
    "2002::/16",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
)


def _cut(piece: Any, hole: Any) -> list[Any]:
    """`piece` less `hole` (networks of one IP version, or `piece` untouched)."""
    if piece.version != hole.version or not piece.overlaps(hole):
        return [piece]
    if piece.subnet_of(hole):
        return []
    return sorted(piece.address_exclude(hole))


def banned_except(allowed: Iterable[str], defaults: Iterable[str] = LS_DEFAULT_BANNED_SUBNETS) -> list[str]:
    """The default banned subnets with the `allowed` networks cut out, as CIDR strings in order."""
    holes = [ipaddress.ip_network(a) for a in allowed]
    out: list[str] = []
    for subnet in defaults:
        pieces: list[Any] = [ipaddress.ip_network(subnet)]
        for hole in holes:
            pieces = [rest for piece in pieces for rest in _cut(piece, hole)]
        out.extend(str(piece) for piece in pieces)
    return out


def env_value(allowed: Iterable[str]) -> str:
    """USER_ADDITIONAL_BANNED_SUBNETS for `allowed`: comma-separated, no spaces (LS splits on ',' only)."""
    return ",".join(banned_except(allowed))


if __name__ == "__main__":
    print(env_value(sys.argv[1:]))
