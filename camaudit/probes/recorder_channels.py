"""Recorder channels probe: with the user's credentials, the cameras wired to a recorder.

A camera on an NVR's own PoE ports sits on the recorder's private network, invisible to every
other probe. The recorder knows each one and lists them, read-only: Hikvision recorders at
GET /ISAPI/ContentMgmt/InputProxy/channels, Dahua recorders at GET
/cgi-bin/configManager.cgi?action=getConfig&name=RemoteDevice. This probe asks for each list
kind in turn, once per web port, and only when the user gave credentials (the same ones,
handled the same way, as ONVIF's: environment or a private file, never argv, never printed).
The credentials go out only as an answer to an HTTP Digest challenge; a device that offers
only Basic gets nothing. A refusal ends the host's asking: camaudit never tries again.

Each camera becomes one `recorder.channel` evidence value (compact JSON of channel, name,
protocol, address, model, serial, firmware); a list read whole adds one `recorder.channels`
summary. The camera's own user name and password, which the same reply may carry, are never
read (recorder_codec).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import aiohttp

from camaudit.errors import DecodeError
from camaudit.models import Evidence
from camaudit.probes import recorder_codec
from camaudit.probes.base import HostProbe, HostTarget, ProbeContext
from camaudit.probes.http_banner import base_url, web_ports
from camaudit.probes.http_session import fetch, shared_session

log = logging.getLogger(__name__)

CHANNELS_PATH = "/ISAPI/ContentMgmt/InputProxy/channels"
REMOTE_DEVICE_PATH = "/cgi-bin/configManager.cgi?action=getConfig&name=RemoteDevice"


@dataclass(frozen=True, slots=True)
class ChannelList:
    """One maker's read-only list of the cameras behind a recorder."""

    path: str
    parse: Callable[[bytes], list[recorder_codec.AttachedChannel]]


# Asked in this order on each port; a device answers at most one of them.
CHANNEL_LISTS = (
    ChannelList(CHANNELS_PATH, recorder_codec.parse_input_proxy_channels),
    ChannelList(REMOTE_DEVICE_PATH, recorder_codec.parse_remote_devices),
)


class Outcome(enum.Enum):
    """What one request for a list said about the host."""

    READ = "read"  # the list, read whole
    REFUSED = "refused"  # the credentials were refused: ask nothing more
    NOT_HERE = "not here"  # no such list on this port (404, no answer, another document)


class RecorderChannelsProbe(HostProbe):
    """Reads a recorder's IP channel list with the given credentials (one Digest answer)."""

    name: ClassVar[str] = "recorder_channels"
    description: ClassVar[str] = (
        "with credentials only: the cameras behind a Hikvision or Dahua recorder (GET its "
        "channel list, Digest)"
    )

    async def probe(self, host: HostTarget, ctx: ProbeContext) -> list[Evidence]:
        """The channels of the first web port and list kind that answer; nothing without
        credentials.

        Ports and list kinds are asked one after another, not at once: the credentials answer
        a challenge only until the host has either listed its cameras or refused them.
        """
        if host.ip not in ctx.scope or not ctx.options.has_credentials:
            return []
        session = shared_session(ctx)
        for scheme, port in web_ports(host, ctx):
            for listing in CHANNEL_LISTS:
                outcome, evidence = await self._ask(session, ctx, host, scheme, port, listing)
                if outcome is not Outcome.NOT_HERE:
                    return evidence
        return []

    async def _ask(
        self,
        session: aiohttp.ClientSession,
        ctx: ProbeContext,
        host: HostTarget,
        scheme: str,
        port: int,
        listing: ChannelList,
    ) -> tuple[Outcome, list[Evidence]]:
        """(what the port said about this list kind, its evidence)."""
        user, password = ctx.options.onvif_user or "", ctx.options.onvif_password or ""
        reply = await fetch(
            session,
            ctx,
            base_url(scheme, host, port) + listing.path,
            max_bytes=recorder_codec.MAX_LIST_BYTES,
            whole_body=True,
            digest=(user, password),
        )
        if reply is None or reply.status == 404:
            return Outcome.NOT_HERE, []
        if reply.status in (401, 403):
            ctx.log_once("recorder_channels: %s refused the given credentials", host.ip)
            return Outcome.REFUSED, []
        if reply.status != 200 or reply.truncated:
            log.debug("recorder_channels: %s:%d answered %d", host.ip, port, reply.status)
            return Outcome.NOT_HERE, []
        try:
            channels = listing.parse(reply.body)
        except DecodeError as exc:
            log.debug("recorder_channels: %s:%d%s: %s", host.ip, port, listing.path, exc)
            return Outcome.NOT_HERE, []
        evidence = [
            self.evidence(host, port, "recorder.channel", channel.as_evidence_value())
            for channel in channels
        ]
        summary = f"{len(channels)} IP channels listed at {listing.path}"
        return Outcome.READ, [*evidence, self.evidence(host, port, "recorder.channels", summary)]
