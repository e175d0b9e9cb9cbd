"""The probe registry: one module per channel; CLI --probe choices come from ALL_PROBES and the
TCP liveness sweep, which the scanner runs itself under the name `tcp`."""

from __future__ import annotations

from camaudit.probes.arp import ArpProbe
from camaudit.probes.base import DiscoveryProbe, HostProbe
from camaudit.probes.dhip import DhipProbe
from camaudit.probes.http_banner import HttpBannerProbe
from camaudit.probes.mdns import MdnsProbe
from camaudit.probes.onvif import OnvifProbe
from camaudit.probes.recorder_channels import RecorderChannelsProbe
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
    RecorderChannelsProbe,
)

PROBE_NAMES: tuple[str, ...] = tuple(probe.name for probe in ALL_PROBES)
SWEEP_NAME = "tcp"  # the liveness sweep shows in reports and --probe as a probe of its own
# Every name --probe and --skip-probe accept, in the order of the README's "What it sends" table.
PROBE_CHOICES: tuple[str, ...] = (
    *(p.name for p in ALL_PROBES if issubclass(p, DiscoveryProbe)),
    SWEEP_NAME,
    *(p.name for p in ALL_PROBES if issubclass(p, HostProbe)),
)


def sweep_selected(probes: tuple[str, ...], skip_probes: tuple[str, ...]) -> bool:
    """Whether the TCP sweep runs: unless skipped, whenever `tcp` or any host probe is chosen,
    because host probes ask only the ports the sweep found open."""
    if SWEEP_NAME in skip_probes:
        return False
    host_probes = {p.name for p in ALL_PROBES if issubclass(p, HostProbe)}
    return not probes or SWEEP_NAME in probes or bool(host_probes & set(probes))
