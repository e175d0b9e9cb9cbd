"""Vendor HTTP identity probe: the unauthenticated requests a browser opening the login page sends.

Six read-only requests per web port, no credentials, no second login step:

* Hikvision: GET /SDK/activateStatus, GET /ISAPI/Security/sessionLogin/capabilities?username=admin
  (the pre-login challenge), GET /doc/page/login.asp (the login page) and GET
  /ISAPI/System/deviceInfo without credentials, whose 401 carries the firmware's digest realm
  (`DVRNVRDVS`, `IP Camera(xxxxx)`): OEM recorders keep it under another label;
* Dahua: POST /RPC2_Login global.login with an empty password, which returns only the login
  challenge (realm "Login to <serial>", MAC); the second, hashed step is never sent;
* UPnP: GET /upnpdevicedesc.xml (model and serial on Hikvision; other makers use the name too).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import ClassVar

import aiohttp

from camaudit.models import Evidence
from camaudit.probes import http_codec
from camaudit.probes.base import HostProbe, HostTarget, ProbeContext
from camaudit.probes.http_banner import base_url, probe_web_ports
from camaudit.probes.http_session import Reply, fetch

log = logging.getLogger(__name__)

BODY_EVIDENCE_BYTES = 64 * 1024  # every reply we want is a few hundred bytes of XML/JSON/HTML


@dataclass(frozen=True, slots=True, kw_only=True)
class VendorRequest:
    """One fixed, read-only request and why it is sent."""

    method: str
    path: str
    body: bytes | None = None
    content_type: str | None = None
    why: str = ""


# The Dahua web client's first login call; password empty, so only the challenge comes back.
_DAHUA_LOGIN = json.dumps(
    {
        "method": "global.login",
        "params": {
            "userName": "admin",
            "password": "",
            "clientType": "Web3.0",
            "loginType": "Direct",
        },
        "id": 1,
    },
    separators=(",", ":"),
).encode()

VENDOR_REQUESTS: tuple[VendorRequest, ...] = (
    VendorRequest(method="GET", path="/SDK/activateStatus", why="Hikvision activation state"),
    VendorRequest(
        method="GET",
        path="/ISAPI/Security/sessionLogin/capabilities?username=admin",
        why="Hikvision pre-login challenge (XML, or a digest realm on older firmware)",
    ),
    VendorRequest(method="GET", path="/doc/page/login.asp", why="Hikvision login page"),
    VendorRequest(
        method="GET",
        path="/ISAPI/System/deviceInfo",
        why="Hikvision ISAPI realm: the unauthenticated 401 names the firmware family",
    ),
    VendorRequest(
        method="POST",
        path="/RPC2_Login",
        body=_DAHUA_LOGIN,
        content_type="application/json",
        why="Dahua login challenge (first step only)",
    ),
    VendorRequest(method="GET", path="/upnpdevicedesc.xml", why="UPnP description"),
)


class VendorHttpProbe(HostProbe):
    """Asks each open web port the six pre-login questions Hikvision and Dahua web UIs ask."""

    name: ClassVar[str] = "vendor_http"
    description: ClassVar[str] = (
        "Hikvision /SDK/activateStatus, ISAPI login capabilities, /doc/page/login.asp; "
        "Dahua RPC2_Login challenge; /upnpdevicedesc.xml"
    )

    async def probe(self, host: HostTarget, ctx: ProbeContext) -> list[Evidence]:
        """Evidence from each open web port; a port that stops answering is left alone."""
        return await probe_web_ports(host, ctx, self._probe_port)

    async def _probe_port(
        self,
        session: aiohttp.ClientSession,
        ctx: ProbeContext,
        host: HostTarget,
        scheme: str,
        port: int,
    ) -> list[Evidence]:
        origin = base_url(scheme, host, port)
        evidence: list[Evidence] = []
        for request in VENDOR_REQUESTS:
            headers = {"Content-Type": request.content_type} if request.content_type else None
            reply = await fetch(
                session,
                ctx,
                origin + request.path,
                method=request.method,
                data=request.body,
                headers=headers,
                max_bytes=BODY_EVIDENCE_BYTES,
            )
            if reply is None:
                # Refused, reset or past the deadline: the rest would fare the same, and a
                # tarpit must not cost five deadlines.
                break
            evidence += self._reply_evidence(host, port, request, reply)
        return evidence

    def _reply_evidence(
        self, host: HostTarget, port: int, request: VendorRequest, reply: Reply
    ) -> list[Evidence]:
        status = f"{request.method} {request.path} {reply.status}"
        items = [self.evidence(host, port, "http.path_status", status)]
        items += [
            self.evidence(host, port, "http.server", value)
            for value in http_codec.header_values(reply.raw_headers, "Server")
        ]
        items += [
            self.evidence(host, port, "http.www_authenticate", value)
            for value in http_codec.header_values(reply.raw_headers, "WWW-Authenticate")
        ]
        # NOTE: only 2xx bodies: many servers echo the requested path in their 404 page, and
        # "/doc/page/login.asp" in a body is itself a Hikvision marker.
        if 200 <= reply.status < 300 and reply.body:
            body = http_codec.decode_body(reply.body[:BODY_EVIDENCE_BYTES])
            items.append(self.evidence(host, port, "http.body", body))
        return items
