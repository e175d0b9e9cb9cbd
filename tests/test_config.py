"""The site config file: every key read and checked, options over the file, errors in one line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from camaudit.commands import main
from camaudit.config import SiteConfig, Webhook, load_config, merged, output_path, site_slug
from camaudit.errors import ConfigError

FULL = """\
site = "Depot 4"
targets = ["198.51.100.0/24", "198.18.5.0/24"]
exclude = ["198.51.100.1"]
interfaces = ["eth1"]
probes = ["sadp", "dhip", "http_banner"]
policy = "ndaa-889"
db = "postgresql://camaudit@db.example/inventory"
spool = "spool"
lock_wait = 600
webhook = { url = "https://alerts.example/camaudit", timeout = 3, retries = 4 }

[outputs]
html = "reports/{site}-{date}.html"
json = "/srv/camaudit/{site}/{date}.json"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_key_is_read(tmp_path: Path) -> None:
    """Each documented key lands in the config; relative paths are taken from the file's folder."""
    config = load_config(write(tmp_path, FULL))
    assert config.site == "Depot 4"
    assert config.targets == ("198.51.100.0/24", "198.18.5.0/24")
    assert config.exclude == ("198.51.100.1",)
    assert config.interfaces == ("eth1",)
    assert config.probes == ("sadp", "dhip", "http_banner")
    assert config.policy == "ndaa-889"
    assert config.db == "postgresql://camaudit@db.example/inventory"
    assert config.spool == str(tmp_path / "spool")
    assert config.lock_wait_s == 600
    assert config.webhook == Webhook(url="https://alerts.example/camaudit", timeout_s=3, retries=4)
    assert config.outputs == {
        "html": str(tmp_path / "reports/{site}-{date}.html"),
        "json": "/srv/camaudit/{site}/{date}.json",
    }


def test_docs_example_is_a_valid_config() -> None:
    """The complete example in docs/config.md loads."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "config.md").read_text("utf-8")
    example = docs.split("<!-- example -->\n```toml\n", 1)[1].split("```", 1)[0]
    config = load_config_text(example)
    assert config.site
    assert config.targets
    assert config.outputs
    assert config.webhook


def load_config_text(text: str) -> SiteConfig:
    import tomllib

    from camaudit.config import parse_config

    return parse_config(tomllib.loads(text), "docs/config.md", Path("/srv/camaudit"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('sites = "HQ"', "unknown key 'sites'"),
        ('targets = "198.51.100.0/24"', "targets: expected a list"),
        ("site = 4", "site: expected a non-empty string"),
        ('probes = ["telnet"]', "unknown probe 'telnet'"),
        ("lock_wait = -1", "lock_wait: expected a number"),
        ('webhook = "ftp://alerts.example/"', "http:// or https://"),
        ('webhook = { url = "https://a.example/", tries = 3 }', "unknown key 'tries'"),
        ('[outputs]\npdf = "x.pdf"', "unknown format 'pdf'"),
        ('[outputs]\nhtml = "{building}.html"', "unknown placeholder {building}"),
        ("site = ", "not valid TOML"),
    ],
)
def test_bad_config_is_one_config_error(tmp_path: Path, text: str, message: str) -> None:
    """An unknown key, a wrong type or bad TOML names the file and the key."""
    with pytest.raises(ConfigError, match="site.toml") as caught:
        load_config(write(tmp_path, text))
    assert message in str(caught.value)


def test_command_line_overrides_the_file() -> None:
    """Given options win; options not given leave the file's values."""
    base = SiteConfig(site="HQ", targets=("198.51.100.0/24",), policy="ndaa-889", db="a.db")
    given = SiteConfig(site="Annex", targets=(), policy=None, db="b.db")
    result = merged(base, given)
    assert (result.site, result.targets, result.policy, result.db) == (
        "Annex", ("198.51.100.0/24",), "ndaa-889", "b.db")  # fmt: skip


def test_output_names_carry_date_and_site() -> None:
    """{date} is the scan's UTC day, {site} the site name made file-safe."""
    started = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
    path = output_path("/srv/{site}/{date}.html", site="Depot 4/../x", started=started)
    assert path == Path("/srv/Depot_4_.._x/2026-03-09.html")  # no "/" left: stays in /srv
    assert site_slug("Depot 4") != site_slug("Depot_4")


class TestScanCommand:
    """`camaudit scan --config`: a bad file stops the run before anything is sent."""

    def run(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["scan", *args])
        return result.exit_code, result.stderr

    @pytest.mark.parametrize(
        "text", ['sites = "HQ"', "targets = 5", 'webhook = "nope"'], ids=["unknown", "type", "url"]
    )
    def test_bad_config_exits_2_in_one_line(self, tmp_path: Path, text: str) -> None:
        code, err = self.run("--config", str(write(tmp_path, text)))
        assert code == 2
        assert len(err.strip().splitlines()) == 1, err
        assert "site.toml" in err
        assert "Traceback" not in err

    def test_unreadable_config_exits_2_in_one_line(self, tmp_path: Path) -> None:
        code, err = self.run("--config", str(tmp_path / "missing.toml"))
        assert code == 2
        assert len(err.strip().splitlines()) == 1
        assert "cannot read config" in err

    def test_unwritable_output_in_config_exits_2(self, tmp_path: Path) -> None:
        text = 'targets = ["198.51.100.7"]\n[outputs]\nhtml = "no-such-dir/{date}.html"\n'
        code, err = self.run("--config", str(write(tmp_path, text)))
        assert code == 2
        assert "does not exist" in err

    def test_alarm_without_inventory_exits_2(self, tmp_path: Path) -> None:
        text = 'targets = ["198.51.100.7"]\nwebhook = "http://127.0.0.1:9/x"\n'
        code, err = self.run("--config", str(write(tmp_path, text)))
        assert code == 2
        assert "--db" in err
