"""The one way camaudit parses XML from devices: defusedxml, a size cap, one error type (pure)."""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError  # noqa: S405 - types only; defusedxml parses

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring


class XmlError(ValueError):
    """The payload is not XML this module hands out: not well-formed, too large or refused."""


class XmlRefused(XmlError):
    """Refused before reading: too large, a DTD or entity declaration, or nested too deeply.

    Callers with a tolerant fallback for broken XML (SADP) must not apply it to these.
    """


def parse(payload: bytes | str, *, max_bytes: int, forbid_dtd: bool = True) -> Element:
    """The root element of `payload`; raises XmlError (XmlRefused for refusals).

    `max_bytes` bounds len(payload): bytes, or characters of a str the caller already decoded
    from a capped datagram. Entities and external references are always refused; `forbid_dtd`
    also refuses a bare DOCTYPE (SADP and stored evidence accept one, as they always have).
    """
    if len(payload) > max_bytes:
        raise XmlRefused(f"{len(payload)} bytes, more than the {max_bytes} allowed")
    try:
        # NOTE: forbid_dtd refuses every DOCTYPE, so entity bombs never reach expansion.
        root = fromstring(payload, forbid_dtd=forbid_dtd)
    except DefusedXmlException as exc:
        raise XmlRefused(f"refused XML construct: {exc}") from None
    except RecursionError:
        raise XmlRefused("XML nested too deeply") from None
    except (ParseError, ValueError, LookupError) as exc:
        # ValueError/LookupError: an unsupported or unknown encoding named in the declaration.
        raise XmlError(f"not well-formed XML: {exc}") from None
    return root  # type: ignore[no-any-return]


def local_name(tag: object) -> str:
    """The tag without its namespace ("{urn:x}MAC" → "MAC"); "" for a non-string tag (comments)."""
    text = tag if isinstance(tag, str) else ""
    return text.rpartition("}")[2]
