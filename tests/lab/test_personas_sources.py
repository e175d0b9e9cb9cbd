"""Shipped personas are sourced: they cite sources, the MAC prefix fits the maker, ground truth
is complete, and the banners, realms and scopes they claim appear in the shared public facts."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from camaudit.identify.verify import names_a_local_path
from camlab.persona import Persona, load_all

REPO = Path(__file__).resolve().parents[2]
# NOTE: the research facts the personas were written from live outside the repository, wherever
# a developer keeps them; CAMAUDIT_FACTS_DIR names that folder. The project never names a path.
_FACTS_ENV = os.environ.get("CAMAUDIT_FACTS_DIR", "")
FACTS_DIR = Path(_FACTS_ENV).resolve() if _FACTS_ENV else None
IDENTIFIERS = REPO / "fingerprints" / "identifiers"
FLAGGED_MAKERS = {"hikvision", "dahua"}  # the default uk-2022 policy names exactly these makers

PERSONAS = load_all()

# A string deliberately not from the facts: Debian 12's stock Apache banner on a negative
# (its source is the Debian package, named in the persona).
NOT_IN_FACTS = {
    ("linux-server-apache", "Apache/2.4.57 (Debian)"),
}

# NOTE: the facts folder is research material outside the repository; checks that read it skip
# with a reason where it is absent (a fresh clone), the structural checks always run.
needs_facts = pytest.mark.skipif(
    FACTS_DIR is None or not FACTS_DIR.is_dir(),
    reason="CAMAUDIT_FACTS_DIR does not name the research facts folder",
)


def _facts(name: str) -> Path:
    assert FACTS_DIR is not None  # the tests that read the facts are marked needs_facts
    return FACTS_DIR / name


# Relative references that climb folders (../x); "..." in an elided path is not one.
_CLIMBING = re.compile(r"(?<![.\w])(?:\.\./)+[\w.-]+")


def _ids() -> list[str]:
    return sorted(PERSONAS)


def _hex(prefix: str) -> str:
    return prefix.replace(":", "").replace("-", "").lower()


def _facts_prefix_groups() -> dict[str, set[str]]:
    """OUI prefixes (hex) of mac-prefixes.md by section: hikvision, dahua, uniview, other."""
    groups: dict[str, set[str]] = {
        "hikvision": set(),
        "dahua": set(),
        "uniview": set(),
        "other": set(),
    }
    section = ""
    for line in _facts("mac-prefixes.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            title = line.lower()
            if "hikvision" in title or "ezviz" in title:
                section = "hikvision"
            elif "huacheng" in title or ("dahua" in title and "scale" not in title):
                section = "dahua"
            elif "uniview" in title:
                section = "uniview"
            elif title.startswith("## other"):
                section = "other"
            else:
                section = ""
            continue
        if section and line.startswith("| `"):
            cell = line.split("`")[1]
            for part in cell.split("/"):
                token = part.strip().split(" ")[0]
                if re.fullmatch(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{1,2}){2,3}", token):
                    groups[section].add(_hex(token))
    return groups


def _other_registrants() -> dict[str, str]:
    """The "other camera-vendor OUIs" table of mac-prefixes.md: prefix -> registrant and note."""
    table: dict[str, str] = {}
    text = _facts("mac-prefixes.md").read_text(encoding="utf-8")
    other = text.split("## Other camera-vendor OUIs", 1)[1]
    for line in other.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            for part in cells[0].strip("`").split("/"):
                table[_hex(part.strip().strip("`"))] = " ".join(cells[1:]).lower()
    return table


def _facts_corpus() -> str:
    """All shared facts as one searchable text (JSONL values decoded so quotes are plain)."""
    parts = [p.read_text(encoding="utf-8") for p in sorted(_facts(".").glob("*.md"))]
    for line in _facts("device-replies.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            parts += [record["value"], record.get("note", "")]
    return "\n".join(parts)


def _as_pattern(template: str) -> re.Pattern[str]:
    """A persona string with placeholders -> regex where each placeholder matches any token."""
    pieces = re.split(r"\{[a-z_]+\}", template.replace("{{", "{").replace("}}", "}"))
    return re.compile(r"[^\s\"',]*".join(re.escape(piece) for piece in pieces))


def _locally_administered(prefix: str) -> bool:
    return bool(int(prefix[:2], 16) & 0x02)


class TestStructure:
    """Checks that need only the persona files and the repository's identifier lists."""

    def test_there_are_enough_personas(self) -> None:
        """The lab ships at least 28 device models."""
        assert len(PERSONAS) >= 28

    @pytest.mark.parametrize("persona_id", _ids())
    def test_persona_names_its_sources(self, persona_id: str) -> None:
        """Every persona cites at least one public source, each a non-trivial string."""
        sources = PERSONAS[persona_id].sources
        assert sources
        assert all(isinstance(s, str) and len(s) > 10 for s in sources)

    @pytest.mark.parametrize("persona_id", _ids())
    def test_every_source_is_a_public_url(self, persona_id: str) -> None:
        """Each source carries an https:// URL and never a machine or shared-folder path."""
        for source in PERSONAS[persona_id].sources:
            assert "https://" in source, source
            assert not names_a_local_path(source), source

    @pytest.mark.parametrize(
        "path",
        sorted(
            p.relative_to(REPO).as_posix()
            for folder in ("docs", "camlab", "camaudit", "fingerprints", "bench")
            for p in (REPO / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        )
        + ["README.md", "CHANGELOG.md", "SECURITY.md", "Makefile", "pyproject.toml"],
    )
    def test_no_project_file_cites_a_local_path(self, path: str) -> None:
        """Project files cite public URLs: no file:// URL of a file, no reference climbing out of
        the repository, never the research facts folder (when CAMAUDIT_FACTS_DIR names it)."""
        file = REPO / path
        text = file.read_text(encoding="utf-8", errors="replace")
        assert not re.search(r"file:///\w", text), "a file:// URL of a real file"
        for reference in _CLIMBING.findall(text):
            assert (file.parent / reference).resolve().is_relative_to(REPO), reference
        if FACTS_DIR is not None:
            assert str(FACTS_DIR) not in text
            assert str(FACTS_DIR.parent) not in text

    @pytest.mark.parametrize("persona_id", _ids())
    def test_expectations_are_complete_and_consistent(self, persona_id: str) -> None:
        """Ground truth names a known device type and maker; flagged follows the default policy."""
        expect = PERSONAS[persona_id].expect
        device_types = {
            line.strip()
            for line in (IDENTIFIERS / "device_types.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        }
        makers = {
            line.split("\t")[0]
            for line in (IDENTIFIERS / "makers.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        }
        assert expect.device_type in device_types
        assert expect.maker == "" or expect.maker in makers
        assert expect.channels, "expect.channels must say which channels identify the device"
        assert expect.flagged == (expect.maker in FLAGGED_MAKERS)

    def test_every_body_file_is_used(self) -> None:
        """No orphan HTML bodies: each file under bodies/ is served by some persona."""
        used = {name for persona in PERSONAS.values() for name in persona.bodies}
        on_disk = {f"bodies/{p.name}" for p in (REPO / "camlab" / "personas" / "bodies").iterdir()}
        assert on_disk - used == set()


def _claimed_strings(persona: Persona) -> Iterator[tuple[str, str]]:
    """(where, text) of the identity strings a persona claims: banners, realms, scopes, certs."""
    raw = persona.raw
    for server in raw.get("http", []):
        for route in server.get("route", []):
            for name, value in route.get("headers", []):
                if name.lower() == "server" and value:
                    yield "http.server", value
                if name.lower() == "www-authenticate":
                    realm = re.search(r'realm="([^"]*)"', value)
                    if realm:
                        yield "http.realm", realm.group(1)
    rtsp = raw.get("rtsp", {})
    for name, value in rtsp.get("headers", []):
        if name.lower() == "server":
            yield "rtsp.server", value
    for _name, value in rtsp.get("describe_headers", []):
        realm = re.search(r'realm="([^"]*)"', value)
        if realm:
            yield "rtsp.realm", realm.group(1)
    for scope in raw.get("wsdiscovery", {}).get("scopes", []):
        if "/name/" in scope or "/location/" in scope or "/type/" in scope:
            # the facts quote scopes without the fixed "onvif://www.onvif.org/" head
            yield "wsd.scope", scope.removeprefix("onvif://www.onvif.org/")
    if "server" in raw.get("ssdp", {}):
        yield "ssdp.server", raw["ssdp"]["server"]
    for key in ("Vendor", "Manufacturer"):
        value = raw.get("dhip", {}).get("device_info", {}).get(key)
        if value:
            yield f"dhip.{key}", value
    for field, value in raw.get("tls", {}).get("issuer", []) + raw.get("tls", {}).get(
        "subject", []
    ):
        if field in ("O", "OU") or (field == "CN" and "{" not in value):
            yield f"tls.{field}", value


def _cites_facts(persona: Persona) -> bool:
    """A source's URL is one the public facts record (so the persona rests on researched facts)."""
    corpus = _facts_corpus()
    urls = (re.search(r"https://\S+", source) for source in persona.sources)
    return any(url and _url_root(url.group(0)) in corpus for url in urls)


def _url_root(url: str) -> str:
    """https://github.com/<owner>/<repo>/... -> <owner>/<repo>; other URLs stay whole."""
    parts = url.removeprefix("https://").split("/")
    return "/".join(parts[1:3]) if parts[0] == "github.com" else url


@needs_facts
class TestAgainstFacts:
    """Checks that compare personas with the shared public facts."""

    @pytest.mark.parametrize("persona_id", _ids())
    def test_mac_prefix_fits_maker_and_label(self, persona_id: str) -> None:
        """Hikvision/Dahua units carry the maker's OUI or their label's own; others never theirs."""
        persona = PERSONAS[persona_id]
        prefix = _hex(persona.mac_prefix)
        groups = _facts_prefix_groups()
        registrants = _other_registrants()
        maker, brand = persona.expect.maker, persona.expect.brand.lower()
        own_label = registrants.get(prefix[:6], "")
        if maker in ("hikvision", "dahua"):
            assert prefix[:6] in groups[maker] or (brand and brand.split()[0] in own_label), (
                f"{persona.mac_prefix} is neither a {maker} block nor {brand!r}'s own"
            )
        elif _locally_administered(prefix):
            assert maker in ("", "xiongmai"), (
                "only no-name boards may use a locally administered prefix"
            )
        else:
            assert prefix[:6] not in groups["hikvision"] | groups["dahua"]
            if prefix[:6] in groups["uniview"]:
                assert maker == "uniview"
            if own_label and maker:
                label_words = {maker, brand}
                assert (
                    any(word and word in own_label for word in label_words) or maker == "doorbird"
                )

    def test_facts_citing_personas_exist(self) -> None:
        """Most personas point at the shared facts they were built from."""
        assert sum(_cites_facts(p) for p in PERSONAS.values()) >= 15

    def test_string_check_rejects_an_unknown_banner(self) -> None:
        """The matcher used below is not vacuous: an invented realm is not found, a real one is."""
        corpus = _facts_corpus()
        assert not _as_pattern("Totally Invented Realm {serial}").search(corpus)
        assert _as_pattern("Login to {serial}").search(corpus)

    @pytest.mark.parametrize("persona_id", _ids())
    def test_claimed_strings_appear_in_the_facts(self, persona_id: str) -> None:
        """Banners, realms, scopes and certificate names a persona claims occur in the facts."""
        corpus = _facts_corpus()
        missing = [
            f"{where}: {text}"
            for where, text in _claimed_strings(PERSONAS[persona_id])
            if (persona_id, text) not in NOT_IN_FACTS and not _as_pattern(text).search(corpus)
        ]
        assert missing == []
