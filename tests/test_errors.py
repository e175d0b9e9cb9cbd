"""The error tree: one DecodeError for every codec, carrying the channel that refused."""

from __future__ import annotations

import pytest

from camaudit.errors import CamauditError, DecodeError
from camaudit.probes import (
    dhip_codec,
    http_codec,
    onvif_codec,
    rtsp_codec,
    sadp_codec,
    ssdp_codec,
    wsd_codec,
)


@pytest.mark.parametrize(
    ("refuse", "channel"),
    [
        (lambda: dhip_codec.parse_reply(b"not dhip"), "dhip"),
        (lambda: http_codec.certificate_names(b"not DER"), "tls"),
        (lambda: onvif_codec.extract_device_information(b"<fault/>"), "onvif"),
        (lambda: rtsp_codec.parse_reply(b"HTTP/1.1 200 OK\r\n\r\n"), "rtsp"),
        (lambda: sadp_codec.parse_probe_match(b"not sadp"), "sadp"),
        (lambda: ssdp_codec.parse_search_reply(b"NOTIFY * HTTP/1.1\r\n\r\n"), "ssdp"),
        (lambda: wsd_codec.parse_probe_matches(b"<a/>", relates_to=()), "wsd"),
    ],
)
def test_every_codec_refuses_with_the_one_decode_error_naming_its_channel(
    refuse: object, channel: str
) -> None:
    """Bad bytes raise camaudit's one DecodeError, a CamauditError, with the codec's channel."""
    with pytest.raises(DecodeError) as caught:
        refuse()  # type: ignore[operator]
    assert caught.value.channel == channel
    assert isinstance(caught.value, CamauditError)
    assert str(caught.value)
