"""HTTP(S) for lab devices: persona routes with raw headers, ONVIF SOAP, the UPnP description."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import logging
import re
import secrets
import ssl
import tempfile
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

import defusedxml.ElementTree as DefusedET

from camlab.device import DeviceContext

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 16 * 1024  # request line + headers; real camera web servers allow less
MAX_BODY_BYTES = 64 * 1024  # SOAP requests are a few KiB
READ_TIMEOUT_S = 10.0  # a client that sends nothing for this long is dropped
ONVIF_PATH = "/onvif/device_service"  # ONVIF Core §5.1: the device service entry point

SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
TDS = "http://www.onvif.org/ver10/device/wsdl"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"

REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
}


class Request:
    """A parsed HTTP request (method, target, lower-cased headers, body, and the raw head)."""

    def __init__(
        self, method: str, target: str, headers: dict[str, str], body: bytes, head: bytes = b""
    ) -> None:
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.head = head  # request line and headers exactly as sent (replay tests look at it)

    @property
    def path(self) -> str:
        """The target without its query string."""
        return self.target.split("?", 1)[0]


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """One request from the stream, or None for garbage, oversize or silence."""
    try:
        async with asyncio.timeout(READ_TIMEOUT_S):
            head = await reader.readuntil(b"\r\n\r\n")
            if len(head) > MAX_HEAD_BYTES:  # the stream's own limit is the looser 64 KiB
                return None
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                return None
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            # NOTE: the Content-Length header is the client's claim; never read more than the cap.
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                return None
            if length < 0 or length > MAX_BODY_BYTES:
                return None
            body = await reader.readexactly(length) if length else b""
    except (
        TimeoutError,
        asyncio.IncompleteReadError,
        asyncio.LimitOverrunError,
        ConnectionError,
        ValueError,
    ):
        return None
    return Request(parts[0], parts[1], headers, body, head)


def build_response(
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    reason: str | None = None,
    head_only: bool = False,
) -> bytes:
    """Raw response bytes; header names kept exactly, Content-Length set to the real length."""
    lines = [f"HTTP/1.1 {status} {reason or REASONS.get(status, 'Unknown')}"]
    has_length = False
    for name, value in headers:
        if name.lower() == "content-length":
            value = str(len(body))
            has_length = True
        lines.append(f"{name}: {value}")
    if not has_length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + (b"" if head_only else body)


class HttpServer:
    """Everything one device serves on one TCP port over HTTP (or HTTPS)."""

    def __init__(self, device: DeviceContext, port: int, spec: dict[str, Any] | None) -> None:
        self.device = device
        self.port = port
        self.spec = spec or {"port": port, "route": []}
        self.channel = "https" if self.spec.get("tls") else "http"
        self._nonces: set[str] = set()  # Digest challenges this server issued

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection: one request, one response, close (as many camera servers do)."""
        peer = writer.get_extra_info("peername") or ("?", 0)
        try:
            request = await read_request(reader)
            self.device.log_request(
                self.channel,
                self.port,
                peer,
                f"{request.method} {request.target}" if request else "garbage",
            )
            if request is not None:
                writer.write(self.respond(request, peer))
                await writer.drain()
        except (ConnectionError, ssl.SSLError, TimeoutError) as exc:
            log.debug("device %d port %d: %s", self.device.number, self.port, exc)
        except Exception:  # a lab responder must survive any client
            log.exception("device %d port %d: handler failed", self.device.number, self.port)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()

    def respond(self, request: Request, peer: tuple[str, int] | str = "?") -> bytes:
        """The response bytes for one request (`peer` only goes into the request log)."""
        persona = self.device.persona
        head_only = request.method == "HEAD"
        onvif = persona.get("onvif")
        if (
            onvif
            and self.device.allows("onvif")
            and onvif["port"] == self.port
            and request.path == ONVIF_PATH
            and request.method == "POST"
        ):
            return self._onvif(request, onvif, peer)
        ssdp = persona.get("ssdp")
        if (
            ssdp
            and self.device.allows("ssdp")
            and ssdp.get("location_port", 80) == self.port
            and request.path == ssdp["location_path"]
            and request.method in ("GET", "HEAD")
        ):
            return build_response(
                200,
                [("Content-Type", 'text/xml; charset="utf-8"')],
                self._description(ssdp),
                head_only=head_only,
            )
        if self.device.allows(self.channel):
            route = self._route(request)
            if route is not None:
                if "digest" in route and not self._digest_ok(request, route, peer):
                    return self._digest_challenge(route["digest"], head_only)
                return self._persona_response(route, head_only)
        return build_response(
            404,
            [("Content-Type", "text/html")],
            b"<html><body>404 Not Found</body></html>",
            head_only=head_only,
        )

    def _digest_ok(
        self, request: Request, route: dict[str, Any], peer: tuple[str, int] | str
    ) -> bool:
        """Whether the request carries a valid HTTP Digest answer (RFC 7616, MD5, qop=auth) to a
        challenge this server issued; each attempt is logged (tests count them)."""
        header = request.headers.get("authorization", "")
        if not header:
            return False
        spec = route["digest"]
        accepted = digest_valid(
            header, request.method, spec["user"], spec["password"], spec["realm"], self._nonces
        )
        self.device.log_request(
            self.channel, self.port, peer, f"{request.method} {request.target} digest={accepted}"
        )
        return accepted

    def _digest_challenge(self, spec: dict[str, str], head_only: bool) -> bytes:
        nonce = secrets.token_hex(16)
        self._nonces.add(nonce)
        challenge = f'Digest realm="{spec["realm"]}", qop="auth", nonce="{nonce}", algorithm=MD5'
        headers = [*self._server_header(), ("WWW-Authenticate", challenge)]
        return build_response(401, headers, b"401 Unauthorized", head_only=head_only)

    def _route(self, request: Request) -> dict[str, Any] | None:
        method = "GET" if request.method == "HEAD" else request.method
        fallback = None
        for route in self.spec.get("route", []):
            if route["path"] == "*":
                fallback = fallback or route
                continue
            wanted = request.target if "?" in route["path"] else request.path
            if route["path"] == wanted and route.get("method", "GET").upper() == method:
                return dict(route)
        return dict(fallback) if fallback is not None else None

    def _persona_response(self, route: dict[str, Any], head_only: bool) -> bytes:
        instance = self.device.instance
        values = instance.values()
        headers = [
            (str(name), self.device.own_urls(str(value)))
            for name, value in instance.render(route.get("headers", []), values)
        ]
        if "body_file" in route:
            text = instance.persona.bodies[route["body_file"]]
        else:
            text = route.get("body", "")
        body = instance.render(text, values).encode("utf-8")
        return build_response(
            int(route.get("status", 200)), headers, body, route.get("reason"), head_only
        )

    def _server_header(self) -> list[tuple[str, str]]:
        """The Server header of this port's routes, so SOAP replies match the web server."""
        for route in self.spec.get("route", []):
            for name, value in route.get("headers", []):
                if name.lower() == "server":
                    return [(name, self.device.instance.render(value))]
        return []

    def _description(self, ssdp: dict[str, Any]) -> bytes:
        values = self.device.instance.values()
        fields = self.device.instance.render(ssdp.get("description", {}), values)
        inner = "".join(f"<{key}>{escape(str(value))}</{key}>" for key, value in fields.items())
        return (
            '<?xml version="1.0"?>\n<root xmlns="urn:schemas-upnp-org:device-1-0">'
            "<specVersion><major>1</major><minor>0</minor></specVersion><device>"
            f"<deviceType>urn:schemas-upnp-org:device:Basic:1</deviceType>{inner}"
            f"<UDN>uuid:{values['uuid']}</UDN></device></root>\n"
        ).encode()

    def _onvif(self, request: Request, onvif: dict[str, Any], peer: tuple[str, int] | str) -> bytes:
        headers = [*self._server_header(), ("Content-Type", "application/soap+xml; charset=utf-8")]
        try:
            envelope = DefusedET.fromstring(request.body)
        except Exception:  # defusedxml raises several types for hostile or broken XML
            return build_response(
                400, headers, soap_fault("env:Sender", "ter:WellFormed", "Bad XML")
            )
        action = soap_action(envelope)
        if action == "GetSystemDateAndTime" and onvif.get("system_date_time", True):
            return build_response(200, headers, system_date_time_reply())
        if action == "GetDeviceInformation":
            mode = onvif.get("device_information_auth", "digest-401")
            accepted = username_token_valid(
                envelope,
                onvif.get("username"),
                onvif.get("password"),
                clock=dt.datetime.now(dt.UTC),  # the device's clock is the real one here
            )
            # Tests count logins from this line (a token is used once, and only when given).
            self.device.log_request("onvif", self.port, peer, f"{action} token={accepted}")
            if mode == "none" or accepted:
                return build_response(200, headers, self._device_information(onvif))
            if mode == "digest-401":
                challenge = self.device.instance.render(
                    onvif.get("www_authenticate", 'Digest realm="ONVIF"')
                )
                return build_response(
                    401,
                    [*headers[:-1], ("WWW-Authenticate", challenge), ("Content-Type", "text/html")],
                    b"401 Unauthorized",
                )
            return build_response(
                400, headers, soap_fault("env:Sender", "ter:NotAuthorized", "Sender not Authorized")
            )
        return build_response(
            400,
            headers,
            soap_fault("env:Sender", "ter:ActionNotSupported", "Optional Action Not Implemented"),
        )

    def _device_information(self, onvif: dict[str, Any]) -> bytes:
        values = self.device.instance.values()
        fields = [
            ("Manufacturer", onvif.get("manufacturer", "")),
            ("Model", onvif.get("model", "{model}")),
            ("FirmwareVersion", onvif.get("firmware_version", "{firmware}")),
            ("SerialNumber", onvif.get("serial_number", "{serial}")),
            ("HardwareId", onvif.get("hardware_id", "")),
        ]
        inner = "".join(
            f"<tds:{name}>{escape(self.device.instance.render(value, values))}</tds:{name}>"
            for name, value in fields
        )
        return soap_envelope(
            f"<tds:GetDeviceInformationResponse>{inner}</tds:GetDeviceInformationResponse>"
        )


def soap_envelope(body: str) -> bytes:
    """A SOAP 1.2 envelope around `body` with the ONVIF namespaces."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<env:Envelope xmlns:env="{SOAP_ENV}" xmlns:tds="{TDS}" '
        f'xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:ter="http://www.onvif.org/ver10/error">'
        f"<env:Body>{body}</env:Body></env:Envelope>\n"
    ).encode()


def soap_fault(code: str, subcode: str, reason: str) -> bytes:
    """A SOAP 1.2 fault as ONVIF devices send on refusal (ONVIF Core §5.11)."""
    return soap_envelope(
        f"<env:Fault><env:Code><env:Value>{code}</env:Value><env:Subcode><env:Value>{subcode}</env:Value>"
        "</env:Subcode></env:Code><env:Reason>"
        f'<env:Text xml:lang="en">{escape(reason)}</env:Text></env:Reason></env:Fault>'
    )


def system_date_time_reply(now: dt.datetime | None = None) -> bytes:
    """GetSystemDateAndTimeResponse with the current UTC time."""
    now = now or dt.datetime.now(dt.UTC)
    return soap_envelope(
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>Manual</tt:DateTimeType>"
        "<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime>"
        f"<tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}</tt:Minute><tt:Second>{now.second}</tt:Second></tt:Time>"
        f"<tt:Date><tt:Year>{now.year}</tt:Year><tt:Month>{now.month}</tt:Month><tt:Day>{now.day}</tt:Day></tt:Date>"
        "</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def soap_action(envelope: Element) -> str:
    """The local name of the first element in the SOAP Body ("" if none)."""
    for child in envelope:
        if _local(child.tag) == "Body":
            for operation in child:
                return _local(operation.tag)
    return ""


def username_token_valid(
    envelope: Element,
    username: str | None,
    password: str | None,
    *,
    clock: dt.datetime | None = None,
) -> bool:
    """Check a UsernameToken PasswordDigest: Base64(SHA-1(nonce + created + password)); with a
    device `clock`, Created must also be within TOKEN_WINDOW of it, as cameras demand (so a
    client must write Created on the device's clock, not its own)."""
    if not username or not password:
        return False
    for token in envelope.iter(f"{{{WSSE}}}UsernameToken"):
        user = token.findtext(f"{{{WSSE}}}Username", "")
        digest = token.findtext(f"{{{WSSE}}}Password", "")
        nonce_text = token.findtext(f"{{{WSSE}}}Nonce", "")
        created = token.findtext(f"{{{WSU}}}Created", "")
        try:
            nonce = base64.b64decode(nonce_text, validate=True)
        except ValueError:
            return False
        # WS-Security UsernameToken Profile 1.0 §3.1 mandates SHA-1 here.
        sha1 = hashlib.sha1(nonce + created.encode() + password.encode())  # noqa: S324
        expected = base64.b64encode(sha1.digest()).decode()
        return user == username and digest.strip() == expected and _fresh(created, clock)
    return False


def _auth_params(header: str) -> dict[str, str]:
    """key=value pairs of a Digest Authorization header (values quoted or bare)."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "digest":
        return {}
    pairs = re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]*))', rest)
    return {key.lower(): quoted or bare for key, quoted, bare in pairs}


def digest_valid(
    header: str, method: str, user: str, password: str, realm: str, nonces: set[str]
) -> bool:
    """RFC 7616 MD5 digest check with qop=auth, against a nonce this server issued."""
    params = _auth_params(header)
    wanted = ("username", "realm", "nonce", "uri", "response", "nc", "cnonce")
    if any(key not in params for key in wanted) or params.get("qop") != "auth":
        return False
    if params["username"] != user or params["realm"] != realm or params["nonce"] not in nonces:
        return False

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - the protocol's own hash

    ha1 = md5(f"{user}:{realm}:{password}")
    ha2 = md5(f"{method}:{params['uri']}")
    expected = md5(f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}")
    return secrets.compare_digest(expected, params["response"])


TOKEN_WINDOW = dt.timedelta(minutes=5)


def _fresh(created: str, clock: dt.datetime | None) -> bool:
    if clock is None:
        return True
    try:
        when = dt.datetime.fromisoformat(created.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        return False
    return abs(when - clock) < TOKEN_WINDOW


_KEY_CACHE: list[Any] = []


def tls_context(subject: list[list[str]], issuer: list[list[str]] | None) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate carrying the persona's names."""
    return self_signed(subject, issuer)[0]


def self_signed(
    subject: list[list[str]], issuer: list[list[str]] | None = None
) -> tuple[ssl.SSLContext, bytes]:
    """A server context and its certificate (DER): names in the order given, CN first if so."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    oids = {
        "CN": NameOID.COMMON_NAME,
        "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "O": NameOID.ORGANIZATION_NAME,
        "L": NameOID.LOCALITY_NAME,
        "ST": NameOID.STATE_OR_PROVINCE_NAME,
        "C": NameOID.COUNTRY_NAME,
        "emailAddress": NameOID.EMAIL_ADDRESS,
    }

    def name(pairs: list[list[str]]) -> x509.Name:
        return x509.Name(
            [x509.NameAttribute(oids.get(key, NameOID.COMMON_NAME), value) for key, value in pairs]
        )

    if not _KEY_CACHE:  # one key for every lab certificate: generating RSA keys is the slow part
        _KEY_CACHE.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    key = _KEY_CACHE[0]
    start = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer or subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365 * 30))
        .sign(key, hashes.SHA256())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        cert_path, key_path = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context.load_cert_chain(cert_path, key_path)
    return context, cert.public_bytes(serialization.Encoding.DER)
