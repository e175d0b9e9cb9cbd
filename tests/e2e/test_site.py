"""End to end: the scanner, run inside the simulated site, finds what each device says."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import uuid
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest

from camlab import control, topology
from camlab.site import PlacedDevice
from tests.conftest import Namespaces
from tests.e2e.conftest import SITE_FILE, LabHandle, static_site

pytestmark = pytest.mark.netns

SITE = static_site()
LAN = IPv4Network("198.51.100.0/24")
# Persona channel -> probes whose evidence shows the scanner heard that channel.
CHANNEL_PROBES: dict[str, set[str]] = {
    "http": {"http_banner", "vendor_http"},
    "https": {"http_banner", "vendor_http"},
    "rtsp": {"rtsp"},
    "wsdiscovery": {"wsdiscovery"},
    "onvif": {"onvif"},
    "sadp": {"sadp"},
    "dhip": {"dhip"},
    "ssdp": {"ssdp"},
    "mdns": {"mdns"},
    "tcp": {"tcp"},
    "arp": {"arp"},
}
# Channels the scanner hears only on the link: never across the router. (Every UDP discovery
# probe also asks each target directly, so SSDP, SADP, DHIP and WS-Discovery do cross it.)
LINK_ONLY = {"arp"}
IN_SCOPE = [d for d in SITE.devices if d.ip != IPv4Address("198.51.100.200")]


def by_ip(scan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {device["ip"]: device for device in scan["devices"]}


def probes_seen(device: dict[str, Any]) -> set[str]:
    return {item["probe"] for item in device["evidence"]}


def expected_channels(device: PlacedDevice) -> list[str]:
    """Channels the scanner should hear: the persona's as the site limits them (fewer if routed)."""
    wanted = set(device.instance.persona.expect.channels) | (device.instance.channels - {"arp"})
    wanted &= device.instance.channels
    if device.subnet.routed:
        wanted -= LINK_ONLY
    return sorted(wanted)


CASES = [(d, channel) for d in IN_SCOPE for channel in expected_channels(d)]


@pytest.mark.parametrize(
    ("device", "channel"), CASES, ids=[f"{d.ip}-{d.instance.persona.id}-{c}" for d, c in CASES]
)
def test_each_channel_of_each_device_yields_evidence(
    full_scan: dict[str, Any], device: PlacedDevice, channel: str
) -> None:
    """Every channel a device speaks shows up in its evidence, from the probe that asks it."""
    found = by_ip(full_scan).get(str(device.ip))
    assert found is not None, f"{device.ip} not found at all"
    assert probes_seen(found) & CHANNEL_PROBES[channel], (
        f"no {channel} evidence: {sorted(probes_seen(found))}"
    )


# A device restricted to fewer channels than its persona speaks shows less than the persona's
# ground truth assumes; test_a_one_channel_device_shows_only_that_channel covers it instead.
WHOLE = [d for d in IN_SCOPE if d.instance.channels == d.instance.persona.speaks() | {"arp"}]


@pytest.mark.parametrize("device", WHOLE, ids=[f"{d.ip}-{d.instance.persona.id}" for d in WHOLE])
def test_maker_and_flag_match_the_persona_ground_truth(
    full_scan: dict[str, Any], device: PlacedDevice
) -> None:
    """Maker and flag agree with the persona's [expect]."""
    found = by_ip(full_scan)[str(device.ip)]
    expect = device.instance.persona.expect
    assert (found["maker"] or "") == expect.maker
    assert found["flagged"] == expect.flagged
    assert found["in_scope"] is True


def test_oem_unit_is_flagged_as_its_maker_under_its_own_brand(full_scan: dict[str, Any]) -> None:
    """The Lorex-labelled Dahua camera: maker dahua, brand Lorex, flagged, MAC from Lorex's OUI."""
    lorex = by_ip(full_scan)["198.51.100.12"]
    assert (lorex["maker"], lorex["brand"], lorex["flagged"]) == ("dahua", "Lorex", True)
    assert (lorex["mac"] or "").startswith("00:1f:54:")


def test_lan_devices_carry_the_mac_the_lab_gave_them(full_scan: dict[str, Any]) -> None:
    """ARP on the scanner's segment sees each device's persona-prefixed MAC."""
    found = by_ip(full_scan)
    for device in IN_SCOPE:
        if not device.subnet.routed:
            assert found[str(device.ip)]["mac"] == device.instance.mac


def test_routed_devices_are_found_by_unicast_only(full_scan: dict[str, Any]) -> None:
    """Behind the router: no multicast-only evidence; SADP/DHIP/WS-Discovery answered by unicast."""
    found = by_ip(full_scan)
    hik, dahua = found["198.18.5.20"], found["198.18.5.21"]
    for device in (hik, dahua):
        assert not probes_seen(device) & LINK_ONLY
    assert {"sadp", "wsdiscovery", "ssdp"} <= probes_seen(hik)
    assert {"dhip", "wsdiscovery"} <= probes_seen(dahua)


def test_a_one_channel_device_shows_only_that_channel(full_scan: dict[str, Any]) -> None:
    """The Axis instance limited to RTSP yields RTSP evidence and nothing from other channels."""
    device = by_ip(full_scan)["198.51.100.30"]
    assert "rtsp" in probes_seen(device)
    assert probes_seen(device) <= {"rtsp", "tcp", "arp"}


def test_multicast_reaches_the_lan_but_not_the_routed_annex(lab: LabHandle) -> None:
    """A multicast WS-Discovery Probe from the scanner is answered only from its own segment."""
    message_id = f"urn:uuid:{uuid.uuid4()}"
    probe = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">'
        f'<s:Header><a:MessageID>{message_id}</a:MessageID></s:Header><s:Body><d:Probe xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"/>'
        "</s:Body></s:Envelope>"
    ).encode()
    with topology.inside(topology.ns_scanner(lab.labid)):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        sock.bind(("0.0.0.0", 0))  # noqa: S104 - inside the scanner's namespace
        sock.settimeout(1.0)
        sock.sendto(probe, ("239.255.255.250", 3702))
        senders = set()
        try:
            while True:
                data, (host, _port) = sock.recvfrom(65535)
                assert message_id.encode() in data
                senders.add(host)
        except TimeoutError:
            pass
    finally:
        sock.close()
    speakers = {str(d.ip) for d in SITE.devices if "wsdiscovery" in d.instance.channels}
    assert senders == {ip for ip in speakers if IPv4Address(ip) in LAN}
    assert not any(ip.startswith("198.18.") for ip in senders)


def test_out_of_scope_devices_are_recorded_but_never_probed(lab: LabHandle) -> None:
    """Scanning 198.51.100.0/25: .200 answers multicast, kept with in_scope false, gets no TCP."""
    before = len(lab.requests())
    scan = lab.scan("198.51.100.0/25", name="scoped")
    outsider = by_ip(scan).get("198.51.100.200")
    assert outsider is not None
    assert outsider["in_scope"] is False
    asked = [r for r in lab.requests()[before:] if r["ip"] == "198.51.100.200"]
    assert asked, "the out-of-scope device heard no multicast at all"
    assert not [r for r in asked if r["channel"] in ("http", "https", "rtsp", "tcp", "onvif")]
    assert all(r["summary"].startswith(("to 239.", "to 224.", "to 255.")) for r in asked), (
        "unicast sent out of scope"
    )


def test_no_targets_scans_the_scanners_own_network(lab: LabHandle) -> None:
    """`camaudit scan` with no targets, in the scanner namespace, covers 198.51.100.0/24 only."""
    scan = lab.scan(name="default")
    found = by_ip(scan)
    assert {"198.51.100.10", "198.51.100.11", "198.51.100.200"} <= {
        ip for ip, d in found.items() if d["in_scope"]
    }
    assert not any(ip.startswith("198.18.") for ip in found)


def test_down_removes_everything_even_after_a_crash(namespaces: Namespaces) -> None:
    """A lab whose responder was killed is still removed completely by `down`."""
    labid = namespaces.new_id()
    try:
        result = control.up(str(SITE_FILE), labid=labid)
        os.kill(result.responder_pid, signal.SIGKILL)
        assert topology.list_namespaces(labid)
    finally:
        control.down(labid)
    listed = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert f"cal-{labid}-" not in listed
    assert not topology.run_dir(labid).exists()


def test_down_stops_a_responder_whose_pid_file_was_lost(namespaces: Namespaces) -> None:
    """`down` finds the lab's responder by its command line when the pid file is gone."""
    labid = namespaces.new_id()
    pid = 0
    try:
        result = control.up(str(SITE_FILE), labid=labid)
        pid = result.responder_pid
        (topology.run_dir(labid) / "responder.pid").unlink()
    finally:
        control.down(labid)
        survivor = pid and Path(f"/proc/{pid}/cmdline").exists()
        if survivor and b"camlab.responder" in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)  # only our own responder, so the test leaves nothing
            os.waitpid(pid, 0)
        else:
            survivor = False
    assert not survivor, "the responder outlived `lab down`"
    assert topology.list_namespaces(labid) == []


@pytest.mark.parametrize(
    "probe",
    [
        "wsdiscovery",
        "mdns",
        "ssdp",
        "sadp",
        "dhip",
        "arp",
        "http_banner",
        "vendor_http",
        "rtsp",
        "onvif",
    ],
)
def test_every_probe_reports_evidence_somewhere_in_the_site(
    full_scan: dict[str, Any], probe: str
) -> None:
    """Each probe ran without failing and contributed evidence for at least one device."""
    outcome = next(p for p in full_scan["probes"] if p["name"] == probe)
    assert outcome["status"] == "ok", outcome
    assert any(probe in probes_seen(device) for device in full_scan["devices"])
