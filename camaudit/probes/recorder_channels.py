"""Recorder channels probe: with the user's credentials, the cameras wired to a recorder.

A camera on an NVR's own PoE ports sits on the recorder's private network, invisible to every
other probe. The recorder knows each one: Hikvision recorders list them, read-only, at
GET /ISAPI/ContentMgmt/InputProxy/channels. This probe asks that once per web port, and only
when the user gave credentials (the same ones, handled the same way, as ONVIF's: environment
or a private file, never argv, never printed). The credentials go out only as an answer to an
HTTP Digest challenge, once per port; a device that offers only Basic gets nothing.

Each camera becomes one `recorder.channel` evidence value (compact JSON of channel, name,
protocol, address, model, serial, firmware); a list read whole adds one `recorder.channels`
summary. The camera's own user name and password, which the same reply may carry, are never
read (recorder_codec).
"""

from __future__ import annotations

import logging
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


class RecorderChannelsProbe(HostProbe):
    """Reads a recorder's IP channel list with the given credentials (one Digest answer)."""

    name: ClassVar[str] = "recorder_channels"
    description: ClassVar[str] = (
        "with credentials only: GET /ISAPI/ContentMgmt/InputProxy/channels (Digest), "
        "the cameras behind a Hikvision recorder"
    )

    async def probe(self, host: HostTarget, ctx: ProbeContext) -> list[Evidence]:
        """The channels of the first web port that answers; nothing without credentials.

        Ports are asked one after another, not at once: the credentials are answered to at
        most one challenge per host unless a port says it has no such list (404, no answer).
        """
        if host.ip not in ctx.scope or not ctx.options.has_credentials:
            return []
        session = shared_session(ctx)
        for scheme, port in web_ports(host, ctx):
            answered, evidence = await self._probe_port(session, ctx, host, scheme, port)
            if answered:
                return evidence
        return []

    async def _probe_port(
        self,
        session: aiohttp.ClientSession,
        ctx: ProbeContext,
        host: HostTarget,
        scheme: str,
        port: int,
    ) -> tuple[bool, list[Evidence]]:
        """(whether this port spoke for the host, its evidence)."""
        user, password = ctx.options.onvif_user or "", ctx.options.onvif_password or ""
        reply = await fetch(
            session,
            ctx,
            base_url(scheme, host, port) + CHANNELS_PATH,
            max_bytes=recorder_codec.MAX_LIST_BYTES,
            whole_body=True,
            digest=(user, password),
        )
        if reply is None or reply.status == 404:
            return False, []
        if reply.status in (401, 403):
            ctx.log_once("recorder_channels: %s refused the given credentials", host.ip)
            return True, []
        if reply.status != 200 or reply.truncated:
            log.debug("recorder_channels: %s:%d answered %d", host.ip, port, reply.status)
            return True, []
        try:
            channels = recorder_codec.parse_input_proxy_channels(reply.body)
        except DecodeError as exc:
            log.debug("recorder_channels: %s:%d: %s", host.ip, port, exc)
            return True, []
        evidence = [
            self.evidence(host, port, "recorder.channel", channel.as_evidence_value())
            for channel in channels
        ]
        summary = f"{len(channels)} IP channels listed at {CHANNELS_PATH}"
        return True, [*evidence, self.evidence(host, port, "recorder.channels", summary)]
