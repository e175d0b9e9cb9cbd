"""The probe registry: one module per channel; CLI --probe choices come from ALL_PROBES."""

from __future__ import annotations

from camaudit.probes.arp import ArpProbe
from camaudit.probes.base import DiscoveryProbe, HostProbe
from camaudit.probes.dhip import DhipProbe
from camaudit.probes.http_banner import HttpBannerProbe
from camaudit.probes.mdns import MdnsProbe
from camaudit.probes.onvif import OnvifProbe
from camaudit.probes.rtsp import RtspProbe
from camaudit.probes.sadp import SadpProbe
from camaudit.probes.ssdp import SsdpProbe
from camaudit.probes.vendor_http import VendorHttpProbe
from camaudit.probes.wsdiscovery import WsDiscoveryProbe

ALL_PROBES: tuple[type[DiscoveryProbe] | type[HostProbe], ...] = (
    WsDiscoveryProbe,
    MdnsProbe,
    SsdpProbe,
    SadpProbe,
    DhipProbe,
    ArpProbe,
    HttpBannerProbe,
    VendorHttpProbe,
    RtspProbe,
    OnvifProbe,
)

PROBE_NAMES: tuple[str, ...] = tuple(probe.name for probe in ALL_PROBES)
