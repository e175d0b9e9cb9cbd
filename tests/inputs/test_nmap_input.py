"""`camaudit identify` on an nmap XML that nmap itself wrote about the simulated site."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from camaudit.inputs import read_inputs
from tests.inputs.conftest import (
    COVERED,
    SiteArtefacts,
    expected_flagged,
    flagged,
    flagged_on_nmap_channels,
    identify,
    never_flagged,
)

pytestmark = [pytest.mark.netns, pytest.mark.slow, pytest.mark.timeout(900)]


def test_nmap_run_flags_the_units_its_evidence_covers_and_nothing_else(
    artefacts: SiteArtefacts,
) -> None:
    """Every Hikvision/Dahua unit that camaudit's own HTTP and RTSP probes flag on evidence nmap's
    ports and scripts record is flagged from nmap's XML too; no other device is flagged."""
    code, report, err = identify(str(artefacts.nmap_xml))
    assert code == 0, err
    assert report is not None
    seen = flagged(report)
    reachable = flagged_on_nmap_channels(artefacts.http_rtsp_scan) & expected_flagged(
        artefacts.site
    )
    assert len(reachable) >= 10, "the comparison scan flagged too little to mean anything"
    assert reachable <= seen, f"missed: {sorted(reachable - seen)}"
    assert not seen & never_flagged(artefacts.site), "a device that is not covered was flagged"
    makers = {d["ip"]: d["maker"] for d in report["devices"]}
    assert all(makers[ip] in COVERED for ip in seen)


def test_nmap_evidence_keeps_the_live_probes_value_shapes(artefacts: SiteArtefacts) -> None:
    """Server headers and certificate names read from nmap match what camaudit's own probes
    recorded for the same host and port, byte for byte."""
    from_nmap = {
        (str(e.host), e.port, e.channel, e.value)
        for e in read_inputs([str(artefacts.nmap_xml)]).evidence
    }
    live = {
        (device["ip"], item.get("port"), item["channel"], item["value"])
        for device in artefacts.scan["devices"]
        for item in device["evidence"]
    }
    for channel in ("http.server", "tls.subject", "tls.issuer", "rtsp.public"):
        ours = {entry for entry in from_nmap if entry[2] == channel}
        assert ours, f"nothing on {channel} from nmap"
        shared = ours & live
        assert len(shared) >= len(ours) // 2, (channel, sorted(ours - live)[:5])


def test_service_fingerprints_are_decoded_to_the_banner_bytes(artefacts: SiteArtefacts) -> None:
    """The Server header inside an unrecognised service's fingerprint is the one camaudit's own
    probe read from the same host and port."""
    from defusedxml.ElementTree import parse

    from camaudit.inputs.nmap_xml import fingerprint_evidence

    live = {
        (device["ip"], item.get("port"), item["value"])
        for device in artefacts.scan["devices"]
        for item in device["evidence"]
        if item["channel"] == "http.server"
    }
    checked = 0
    for host in parse(artefacts.nmap_xml).getroot().iter("host"):
        address = next(a.get("addr") for a in host.iter("address") if a.get("addrtype") == "ipv4")
        for port in host.iter("port"):
            service = port.find("service")
            if service is None or not service.get("servicefp"):
                continue
            number = int(port.get("portid", "0"))
            decoded = fingerprint_evidence(
                IPv4Address(address), number, service.get("servicefp", "")
            )
            for server in {e.value for e in decoded if e.channel == "http.server"}:
                assert (address, number, server) in live
                checked += 1
    assert checked >= 3


def test_an_nmap_run_and_a_capture_of_one_site_combine_per_host(artefacts: SiteArtefacts) -> None:
    """Given both files, one device per host carries evidence from both sources."""
    code, report, err = identify(str(artefacts.nmap_xml), str(artefacts.capture))
    assert code == 0, err
    assert report is not None
    probes_by_host = {d["ip"]: {item["probe"] for item in d["evidence"]} for d in report["devices"]}
    both = [ip for ip, probes in probes_by_host.items() if {"nmap", "capture"} <= probes]
    assert len(both) >= 20
    assert len({d["ip"] for d in report["devices"]}) == len(report["devices"])
    assert not flagged(report) & never_flagged(artefacts.site)


def test_broadcast_scripts_file_each_reply_under_the_device_that_sent_it(
    artefacts: SiteArtefacts,
) -> None:
    """nmap heads broadcast results with the multicast group it asked; camaudit files WS-Discovery,
    UPnP and DNS-SD results under the device address they name, and only lab devices get any."""
    evidence = read_inputs([str(artefacts.nmap_broadcast_xml)]).evidence
    devices = {str(d.ip): d for d in artefacts.site.devices}
    assert {str(e.host) for e in evidence} <= set(devices)
    xaddrs = [e for e in evidence if e.channel == "wsd.xaddrs"]
    assert xaddrs
    assert all(f"//{e.host}" in e.value for e in xaddrs)
    cameras = {str(e.host) for e in evidence if "NetworkVideoTransmitter" in e.value}
    assert cameras
    assert all("wsdiscovery" in devices[ip].instance.channels for ip in cameras)
    services = {(str(e.host), e.value) for e in evidence if e.channel == "mdns.service"}
    hikvision_mdns = [
        str(d.ip)
        for d in artefacts.site.devices
        if "mdns" in d.instance.channels
        and d.instance.persona.expect.maker == "hikvision"
        and str(d.ip).startswith("198.51.100.")
    ]
    assert hikvision_mdns
    assert all((ip, "_CGI._tcp.local.") in services for ip in hikvision_mdns)
