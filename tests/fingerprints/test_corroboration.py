"""How evidence adds up on the shipped database: echoes do not corroborate, independent facts do."""

from __future__ import annotations

from test_negatives import identify_alone

from camaudit.identify.loader import Database
from camaudit.models import Verdict

HIK_SCOPES = (
    "onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/Profile/Streaming "
    "onvif://www.onvif.org/hardware/DS-2CD2T47G2-L onvif://www.onvif.org/name/HIKVISION%20DS-2CD2T47G2-L"
)


def test_a_brand_read_off_a_mac_prefix_adds_nothing_to_the_prefix(database: Database) -> None:
    """EZVIZ OUI + port 8000: the derived EZVIZ brand is an echo of the MAC, so the score is the
    MAC's and the port's alone (1 - 0.4 * 0.8 = 0.68), LIKELY with brand EZVIZ."""
    device = identify_alone(database, ("mac", "0c:a6:4c:0e:af:5e"), ("tcp.open", "8000"))
    assert (device.maker, device.brand, device.verdict) == ("hikvision", "EZVIZ", Verdict.LIKELY)
    assert device.confidence == 0.68


def test_a_model_from_the_hardware_scope_corroborates_the_name_scope(database: Database) -> None:
    """The name scope names Hikvision; the hardware scope's DS- model says so independently."""
    device = identify_alone(database, ("wsd.scopes", HIK_SCOPES))
    assert (device.maker, device.model, device.verdict) == (
        "hikvision",
        "DS-2CD2T47G2-L",
        Verdict.CONFIRMED,
    )


def test_an_oem_label_on_a_mac_prefix_stays_weak(database: Database) -> None:
    """A Lorex OUI alone gives brand Lorex and a weak Dahua maker: verify on site, not flagged."""
    device = identify_alone(database, ("mac", "00:1f:54:17:eb:0c"))
    assert (device.maker, device.brand, device.verdict) == ("dahua", "Lorex", Verdict.POSSIBLE)


def test_a_page_title_counts_once_though_body_and_title_both_carry_it(
    database: Database,
) -> None:
    """A generic device page titled WEB SERVICE, as http_banner reports it (title and body), is a
    weak Dahua hint, not LIKELY: the body's <title> is the same observation as http.title."""
    page = "<html><head><title>WEB SERVICE</title></head><body>Router setup</body></html>"
    device = identify_alone(
        database, ("http.title", "WEB SERVICE"), ("http.body", page), ("http.server", "lighttpd")
    )
    assert device.verdict is Verdict.POSSIBLE


def test_a_page_that_merely_names_hikvision_is_not_flagged(database: Database) -> None:
    """A reseller's or NAS's page listing the company is a hint; the device's own copyright line
    on its login page is evidence."""
    mention = identify_alone(
        database, ("http.body", "<li>We install Hangzhou Hikvision Digital Technology cameras</li>")
    )
    assert mention.verdict is Verdict.POSSIBLE
    own = identify_alone(
        database, ("http.body", "<p>&copy;2021 Hangzhou Hikvision Digital Technology Co., Ltd.</p>")
    )
    assert (own.maker, own.verdict) == ("hikvision", Verdict.LIKELY)
