"""ScanOptions and every timing, size and rate constant, in seconds/bytes, with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field

# Discovery listening windows. WS-Discovery 1.1 §3.1.3 lets a device wait up to
# APP_MAX_DELAY (500 ms) before answering a Probe; SSDP's MX (UPnP DA 1.1 §1.3.2) is the
# longest a device may wait, and we send MX=1. Vendor tools wait about 2 s for SADP/DHIP.
WSD_LISTEN_S = 2.0
SSDP_LISTEN_S = 2.0
SADP_LISTEN_S = 2.0
DHIP_LISTEN_S = 2.0
MDNS_LISTEN_S = 2.0  # RFC 6762 §5.2: responders answer within 20-120 ms, plus retries
ARP_LISTEN_S = 2.0
# Those windows are upper bounds (--listen). Each ends sooner once the protocol's own answer
# delay has passed since the last send and no answer came for QUIET_S (net.ListenWindow):
# a device that keeps answering keeps the window open. The settle times are the longest a
# conforming device may wait, plus a LAN round trip or two of margin.
WSD_SETTLE_S = 0.75  # APP_MAX_DELAY, 500 ms (WS-Discovery 1.1 §3.1.3)
SSDP_SETTLE_S = 1.25  # MX = 1 s (UPnP DA 1.1 §1.3.2)
SADP_SETTLE_S = 1.0  # no published delay; units answer at once, vendor tools wait about 2 s
DHIP_SETTLE_S = 1.0  # likewise
MDNS_SETTLE_S = 0.5  # RFC 6762 §6: responders delay shared answers 20-120 ms
ARP_SETTLE_S = 0.5  # hosts answer ARP within milliseconds (RFC 826 has no delay)
QUIET_S = 0.3  # no answer for this long after settling: the segment has said what it will

CONNECT_TIMEOUT_S = 1.0  # a LAN host that has not accepted in 1 s is not listening
REQUEST_TIMEOUT_S = 3.0  # whole-request deadline for one HTTP/RTSP/SOAP exchange
PROBE_TIMEOUT_S = 30.0  # a whole probe, so one stuck probe cannot hold the scan
MAX_READ_BYTES = 256 * 1024  # cap on any single reply read from the network
MAX_DATAGRAMS = 4096  # cap on datagrams kept by one discovery listener

DEFAULT_CONCURRENCY = 256  # host probes in flight at once
DEFAULT_RATE = 1000.0  # new connections / unicast datagrams per second, whole scan
MAX_TARGETS_WITHOUT_YES = 65_536

# Ports, overridable so loopback tests can run responders on free ports.
DEFAULT_PORTS: dict[str, int] = {
    "wsd": 3702,  # WS-Discovery 1.1 §2.4
    "ssdp": 1900,  # UPnP Device Architecture 1.1 §1.1.2
    "mdns": 5353,  # RFC 6762 §3
    "sadp": 37020,  # Hikvision SADP (XML over UDP)
    "dhip": 37810,  # Dahua DHIP discovery
    "rtsp": 554,  # RFC 2326 §3.2
}
# TCP ports checked for life before host probes run: web UIs, RTSP, and the vendors' SDK ports
# (Hikvision 8000, Dahua 37777), which are evidence in themselves.
DEFAULT_TCP_PORTS: tuple[int, ...] = (80, 443, 554, 8000, 8080, 8443, 37777)
HTTP_PORTS: tuple[int, ...] = (80, 8080)
HTTPS_PORTS: tuple[int, ...] = (443, 8443)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanOptions:
    """Everything a scan needs to know, resolved from the CLI before the scan starts."""

    probes: tuple[str, ...] = ()  # empty: all probes
    skip_probes: tuple[str, ...] = ()
    interfaces: tuple[str, ...] = ()  # names for multicast; empty: those on the targets' networks
    multicast: bool = True
    concurrency: int = DEFAULT_CONCURRENCY
    rate: float = DEFAULT_RATE
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    request_timeout_s: float = REQUEST_TIMEOUT_S
    probe_timeout_s: float = PROBE_TIMEOUT_S
    wsd_listen_s: float = WSD_LISTEN_S
    ssdp_listen_s: float = SSDP_LISTEN_S
    sadp_listen_s: float = SADP_LISTEN_S
    dhip_listen_s: float = DHIP_LISTEN_S
    mdns_listen_s: float = MDNS_LISTEN_S
    arp_listen_s: float = ARP_LISTEN_S
    max_read_bytes: int = MAX_READ_BYTES
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    tcp_ports: tuple[int, ...] = DEFAULT_TCP_PORTS
    http_ports: tuple[int, ...] = HTTP_PORTS
    https_ports: tuple[int, ...] = HTTPS_PORTS
    onvif_user: str | None = None
    onvif_password: str | None = None  # never logged, printed or stored

    def port(self, name: str) -> int:
        """The port for a named service, after test overrides."""
        return self.ports.get(name, DEFAULT_PORTS[name])

    @property
    def has_credentials(self) -> bool:
        """True when the user gave a device account (ONVIF, recorder channel lists)."""
        return bool(self.onvif_user) and self.onvif_password is not None

    def __repr__(self) -> str:
        # NOTE: dataclass repr would print the password into logs and tracebacks.
        return f"ScanOptions(probes={self.probes!r}, interfaces={self.interfaces!r}, ...)"
