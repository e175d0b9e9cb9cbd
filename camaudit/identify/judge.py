"""The judge: evidence + fingerprints + policy in, devices out (pure; no I/O beyond data files).

The scanner and `camaudit identify` both call `judge`, so a scan and observations collected
elsewhere are judged the same way and come out in the same order (scanfile.order_devices).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from camaudit.identify.advisories import Advisory, attach_advisories, load_advisories
from camaudit.identify.decode import recorder_channel_fields
from camaudit.identify.engine import match_host
from camaudit.identify.loader import Database, load_database
from camaudit.identify.merge import merge_host
from camaudit.identify.oui import preload_registry
from camaudit.identify.policy import Policy
from camaudit.models import Device, Evidence
from camaudit.scanfile import order_devices

# A recorder's channel list (recorder_channels probe): judged as the cameras behind it.
CHANNEL_LIST_CHANNELS = frozenset({"recorder.channel", "recorder.channels"})
UNREPORTED_ADDRESS = IPv4Address("0.0.0.0")  # noqa: S104 - a placeholder, never contacted

if TYPE_CHECKING:  # targets resolves host names (socket); identify stays pure
    from camaudit.targets import Scope


def load_for_judging() -> Database:
    """The shipped fingerprints, with the tables `judge` would otherwise read on first use (the
    MAC registry, the advisories) loaded too, so that a broken install fails before a scan
    sends anything."""
    database = load_database()
    preload_registry()
    load_advisories()
    return database


def judge(
    evidence: Iterable[Evidence],
    database: Database,
    policy: Policy,
    scope: Scope | None = None,
) -> list[Device]:
    """One Device per host, with the policy's flag and the published firmware advisories that may
    concern it, in the one device order.

    Hosts outside `scope` (heard by multicast, never probed) are kept with in_scope False;
    without a scope every host counts as in scope.
    """
    identified = identify_hosts(evidence, database, scope=scope)
    table = load_advisories()
    judged = [_judged(device, policy, table) for device in identified]
    return order_devices(judged)


def _judged(device: Device, policy: Policy, table: Sequence[Advisory]) -> Device:
    """The policy's flag and the advisories, on a device and on each camera behind it."""
    cameras = tuple(_judged(camera, policy, table) for camera in device.attached)
    (flagged,) = attach_advisories([policy.apply(device)], table)
    return replace(flagged, attached=cameras)


def identify_hosts(
    evidence: Iterable[Evidence], database: Database, *, scope: Scope | None = None
) -> list[Device]:
    """Group evidence by host, match and merge; one Device per host by address, no policy yet."""
    by_host: dict[IPv4Address, list[Evidence]] = {}
    for item in evidence:
        by_host.setdefault(item.host, []).append(item)
    devices = []
    for host in sorted(by_host):
        own, listed = _split_channel_list(by_host[host])
        hits = match_host(own, database)
        device = merge_host(
            host, own, hits, database.identifiers, in_scope=scope is None or host in scope
        )
        if listed:
            device = replace(
                device,
                channels_read=True,
                attached=tuple(_attached_cameras(listed, database)),
            )
        devices.append(device)
    return devices


def _split_channel_list(items: list[Evidence]) -> tuple[list[Evidence], list[Evidence]]:
    """(the host's own evidence, its channel list): the cameras a recorder lists say who made
    them, not who made the recorder."""
    own = [item for item in items if item.channel not in CHANNEL_LIST_CHANNELS]
    return own, [item for item in items if item.channel in CHANNEL_LIST_CHANNELS]


def _attached_cameras(listed: list[Evidence], database: Database) -> list[Device]:
    """One Device per listed channel (first entry per channel number), judged from what the
    recorder says about it, exactly as a host's evidence is."""
    by_channel: dict[int, Evidence] = {}
    for item in listed:
        if item.channel != "recorder.channel":
            continue
        number = recorder_channel_fields(item.value).get("channel")
        if isinstance(number, int) and not isinstance(number, bool):
            by_channel.setdefault(number, item)
    cameras = []
    for number in sorted(by_channel):
        item = by_channel[number]
        address = _camera_address(recorder_channel_fields(item.value).get("address"))
        camera_evidence = [replace(item, host=address)]
        hits = match_host(camera_evidence, database)
        camera = merge_host(address, camera_evidence, hits, database.identifiers)
        cameras.append(replace(camera, recorder_channel=number))
    return cameras


def _camera_address(value: object) -> IPv4Address:
    """The camera's address as its recorder reports it; 0.0.0.0 when it reports none usable."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return IPv4Address(value.strip())
    return UNREPORTED_ADDRESS
