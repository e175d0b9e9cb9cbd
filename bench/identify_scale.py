"""Benchmark: identify_hosts on 100,000 synthetic observations over 20,000 hosts.

Pure CPU, no network. The evidence mixes every channel the scanner emits, shaped like the public
samples (SADP ProbeMatch, DHIP reply, realms, banners, scopes, MACs, UPnP descriptions), with
serials, models and MACs varied per host so nothing is trivially repeated. `--extra-rules N`
adds N synthetic rules (spread over the channels, each with its own literal) to the shipped
ones, to see how matching scales with thousands of rules. Usage:
    python bench/identify_scale.py                        # shipped rules
    python bench/identify_scale.py --extra-rules 3000     # shipped + 3000 synthetic rules
    python bench/identify_scale.py --observations 20000 --hosts 4000 --runs 3
    python bench/identify_scale.py --no-value-cache       # every value matched afresh
Prints one line per run and the best time.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path

from camaudit.identify import engine, identify_hosts, oui
from camaudit.identify.loader import Database, load_database
from camaudit.models import Evidence

Maker = Callable[[random.Random, int], tuple[str, str, str]]  # rng, host -> channel, value, probe


def _serial(rng: random.Random) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(9))


def _mac(rng: random.Random, prefix: str) -> str:
    return prefix + ":" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))


def _sadp(rng: random.Random, host: int) -> tuple[str, str, str]:
    model = rng.choice(["DS-2CD2385G1-I", "DS-2CD2143G2-IS", "DS-7608NI-K2", "DS-2DE4425IW-DE"])
    text = (
        f"<ProbeMatch><Uuid>{host:08x}-90e4-44c0-842b-703f46b58c81</Uuid><Types>inquiry</Types>"
        f"<DeviceType>141945</DeviceType><DeviceDescription>{model}</DeviceDescription>"
        f"<DeviceSN>{model}20200414AAWRE{rng.randrange(10**8):08d}</DeviceSN>"
        f"<MAC>{_mac(rng, '58-50-ed').replace(':', '-')}</MAC>"
        "<SoftwareVersion>V5.6.2build 190701</SoftwareVersion></ProbeMatch>"
    )
    return "sadp", text, "sadp"


def _dhip(rng: random.Random, _host: int) -> tuple[str, str, str]:
    model = rng.choice(["IPC-HDW5421S", "IPC-HFW2431S-S-S2", "NVR4108HS-4KS2", "XVR5108HS"])
    text = (
        f'{{ "mac" : "{_mac(rng, "4c:11:bf")}", "method" : "client.notifyDevInfo", "params" : '
        f'{{ "deviceInfo" : {{ "DeviceClass" : "IPC", "DeviceType" : "{model}", '
        f'"SerialNo" : "{_serial(rng)}", "Vendor" : "Dahua", '
        '"Version" : "2.800.0000000.13.R" } } }'
    )
    return "dhip", text, "dhip"


def _simple(channel: str, probe: str, values: list[str]) -> Maker:
    def make(rng: random.Random, _host: int) -> tuple[str, str, str]:
        return channel, rng.choice(values).replace("{serial}", _serial(rng)), probe

    return make


GENERATORS: list[tuple[Maker, int]] = [
    (_simple("tcp.open", "tcp", ["80", "443", "554", "8000", "37777", "22"]), 20),
    (
        _simple(
            "mac",
            "arp",
            ["58:50:ed:1f:e3:85", "3c:ef:8c:61:01:c0", "00:40:8c:12:34:56", "f0:9f:c2:aa:bb:cc"],
        ),
        15,
    ),
    (
        _simple(
            "http.server",
            "http_banner",
            [
                "App-webs/",
                "Hikvision-Webs",
                "nginx/1.18.0",
                "Apache/2.4.41 (Ubuntu)",
                "Boa/0.94.14rc21",
            ],
        ),
        10,
    ),
    (
        _simple(
            "http.title", "http_banner", ["WEB SERVICE", "Login", "AXIS", "Synology DiskStation"]
        ),
        10,
    ),
    (
        _simple(
            "http.www_authenticate",
            "http_banner",
            [
                'Digest realm="Login to {serial}"',
                'Basic realm="AXIS_ACCC8E{serial}"',
                'Basic realm="x"',
            ],
        ),
        8,
    ),
    (
        _simple(
            "rtsp.server",
            "rtsp",
            [
                "Dahua Rtsp Server",
                "Rtsp Server/2.0",
                "GStreamer RTSP server",
                "Hipcam RealServer/V1.0",
            ],
        ),
        6,
    ),
    (
        _simple(
            "wsd.scopes",
            "wsdiscovery",
            [
                "onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/name/HIKVISION%20DS-2CD2385G1-I"
                " onvif://www.onvif.org/hardware/DS-2CD2385G1-I onvif://www.onvif.org/location/city/hangzhou",
                "onvif://www.onvif.org/location/country/china onvif://www.onvif.org/name/Dahua"
                " onvif://www.onvif.org/hardware/DH-IPC-HDW1230T2 onvif://www.onvif.org/Profile/Streaming",
            ],
        ),
        6,
    ),
    (_sadp, 5),
    (_dhip, 5),
    (
        _simple(
            "ssdp.server",
            "ssdp",
            [
                "Linux/3.10 UPnP/1.0 miniupnpd/1.9",
                "Linux/4.9.94-axis5, UPnP/1.0, Portable SDK for UPnP devices/1.6.22",
            ],
        ),
        5,
    ),
    (
        _simple(
            "upnp.description",
            "ssdp",
            [
                "<root><device><manufacturer>Hikvision</manufacturer><modelName>DS-2CD2143G2-IS</modelName>"
                "<serialNumber>{serial}</serialNumber></device></root>",
                "<root><device><manufacturer>NETGEAR</manufacturer><modelName>R7000</modelName></device></root>",
            ],
        ),
        5,
    ),
    (
        _simple(
            "mdns.service",
            "mdns",
            [
                "_CGI._tcp.local.",
                "_axis-video._tcp.local.",
                "_googlecast._tcp.local.",
                "_ipp._tcp.local.",
            ],
        ),
        5,
    ),
]


def synthesise(observations: int, hosts: int, seed: int = 7) -> list[Evidence]:
    """`observations` pieces of evidence spread over `hosts` documentation-range addresses."""
    rng = random.Random(seed)
    makers = [maker for maker, _ in GENERATORS]
    weights = [weight for _, weight in GENERATORS]
    base = int(IPv4Address("198.18.0.0"))
    evidence = []
    for n in range(observations):
        host = n % hosts
        channel, value, probe = rng.choices(makers, weights)[0](rng, host)
        evidence.append(
            Evidence(host=IPv4Address(base + host), channel=channel, value=value, probe=probe)
        )
    return evidence


SYNTHETIC_CHANNELS = ("http.server", "http.title", "http.www_authenticate", "rtsp.server")


def write_extra_rules(directory: Path, count: int) -> None:
    """`count` anchored literal rules (vendor names that never occur) in one file per channel."""
    per_channel = max(1, count // len(SYNTHETIC_CHANNELS))
    for channel in SYNTHETIC_CHANNELS:
        lines = [f'evidence = "{channel}"', "preference = 0.1", ""]
        for n in range(per_channel):
            name = f"Zz{channel.replace('.', '')}Vendor{n}"
            lines += [
                "[[fingerprint]]",
                f'id = "bench-{channel.replace(".", "-").replace("_", "-")}-{n}"',
                f'description = "synthetic {n}"',
                f"pattern = '^{name}(?:/(?P<firmware>[\\d.]+))?$'",
                'facts = { device_type = "ip-camera" }',
                "confidence = 0.3",
                'source = "https://example.org/bench"',
                f'example = [{{ text = "{name}/1.0" }}]',
                "",
            ]
        (directory / f"{channel.replace('.', '_')}.toml").write_text("\n".join(lines), "utf-8")


def run(shipped: Database, evidence: list[Evidence]) -> float:
    """Seconds identify_hosts takes for the evidence, from cold caches (a fresh Database)."""
    database = Database.build(shipped.files, shipped.identifiers)
    started = time.perf_counter()
    devices = identify_hosts(evidence, database)
    spent = time.perf_counter() - started
    named = sum(1 for d in devices if d.maker)
    print(f"  {len(evidence)} observations, {len(devices)} hosts ({named} named): {spent:.2f} s")
    return spent


def main() -> None:
    """Parse arguments, build the database and evidence, time the runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--hosts", type=int, default=20_000)
    parser.add_argument("--extra-rules", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--no-value-cache", action="store_true", help="match every value afresh (prefilter only)"
    )
    args = parser.parse_args()
    if args.no_value_cache:
        engine.MATCH_CACHE_ENTRIES = 0  # NOTE: the cache then holds one value at a time
    with tempfile.TemporaryDirectory() as tmp:
        extra: tuple[Path, ...] = ()
        if args.extra_rules:
            write_extra_rules(Path(tmp), args.extra_rules)
            extra = (Path(tmp),)
        database = load_database(extra)
        rules = sum(1 for _ in database.rules())
        evidence = synthesise(args.observations, args.hosts)
        oui.lookup("58:50:ed:00:00:00")  # NOTE: load the OUI table once, outside the timing
        print(f"identify_hosts with {rules} rules:")
        best = min(run(database, evidence) for _ in range(args.runs))
        print(f"best of {args.runs}: {best:.2f} s ({args.observations / best:,.0f} observations/s)")


if __name__ == "__main__":
    main()
