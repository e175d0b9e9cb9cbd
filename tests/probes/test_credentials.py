"""ONVIF credentials: where they come from, and that the password never leaks."""

from __future__ import annotations

import logging
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from camaudit.credentials import Credentials, load_onvif_credentials, mode_is_private
from camaudit.errors import ConfigError
from camaudit.models import Evidence
from camaudit.options import ScanOptions
from camaudit.probes.base import HostTarget
from camaudit.probes.onvif import OnvifProbe
from camlab.replay import http_server
from tests.probes.kit import OnvifDevice, make_ctx

SECRET = "Zq7-very-distinct-secret"  # noqa: S105 - test value


def write_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "onvif.cred"
    path.write_text(text)
    path.chmod(mode)
    return path


class TestLoading:
    def test_none_when_nothing_is_configured(self) -> None:
        """No environment variables and no file: no credentials."""
        assert load_onvif_credentials({}, None) is None

    def test_from_environment(self) -> None:
        """CAMAUDIT_ONVIF_USER and CAMAUDIT_ONVIF_PASSWORD together give credentials."""
        env = {"CAMAUDIT_ONVIF_USER": "auditor", "CAMAUDIT_ONVIF_PASSWORD": SECRET}
        assert load_onvif_credentials(env, None) == Credentials(user="auditor", password=SECRET)

    @pytest.mark.parametrize(
        "env",
        [{"CAMAUDIT_ONVIF_USER": "auditor"}, {"CAMAUDIT_ONVIF_PASSWORD": SECRET}],
    )
    def test_half_set_environment_is_an_error(self, env: dict[str, str]) -> None:
        """One variable without the other is a configuration error that hides the password."""
        with pytest.raises(ConfigError) as caught:
            load_onvif_credentials(env, None)
        assert SECRET not in str(caught.value)

    def test_from_private_file(self, tmp_path: Path) -> None:
        """A mode 0600 file with user= and password= lines (comments allowed) is read."""
        path = write_file(tmp_path, f"# camera audit\nuser = auditor\npassword={SECRET}\n")
        env = {"CAMAUDIT_ONVIF_USER": "other", "CAMAUDIT_ONVIF_PASSWORD": "other"}
        assert load_onvif_credentials(env, path) == Credentials(user="auditor", password=SECRET)

    @pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
    def test_file_readable_by_others_is_refused(self, tmp_path: Path, mode: int) -> None:
        """Group- or world-readable files are refused with the file name and the chmod fix."""
        path = write_file(tmp_path, f"user=auditor\npassword={SECRET}\n", mode)
        with pytest.raises(ConfigError) as caught:
            load_onvif_credentials({}, path)
        message = str(caught.value)
        assert str(path) in message
        assert "chmod 600" in message
        assert SECRET not in message

    def test_missing_file_is_an_error(self, tmp_path: Path) -> None:
        """A file that does not exist names itself in the error."""
        with pytest.raises(ConfigError, match="onvif.cred"):
            load_onvif_credentials({}, tmp_path / "onvif.cred")

    @pytest.mark.parametrize(
        "text",
        [f"user=auditor\npasword={SECRET}\n", f"user=auditor\n{SECRET}\n", "user=auditor\n"],
    )
    def test_malformed_file_errors_never_quote_the_password(
        self, tmp_path: Path, text: str
    ) -> None:
        """Typos and missing lines are refused without echoing what the line held."""
        with pytest.raises(ConfigError) as caught:
            load_onvif_credentials({}, write_file(tmp_path, text))
        assert SECRET not in str(caught.value)

    def test_non_utf8_file_error_does_not_quote_bytes(self, tmp_path: Path) -> None:
        """A non-UTF-8 file is refused without the codec's byte-quoting message."""
        path = tmp_path / "onvif.cred"
        path.write_bytes(b"user=a\npassword=\xff\xfe\n")
        path.chmod(0o600)
        with pytest.raises(ConfigError) as caught:
            load_onvif_credentials({}, path)
        assert "0xff" not in str(caught.value)

    def test_repr_and_str_hide_the_password(self) -> None:
        """repr() and str() show the user, never the password."""
        credentials = Credentials(user="auditor", password=SECRET)
        assert "auditor" in repr(credentials)
        assert SECRET not in repr(credentials)
        assert SECRET not in str(credentials)

    def test_apply_to_options_keeps_repr_clean(self) -> None:
        """Options carrying the password still repr without it."""
        options = Credentials(user="auditor", password=SECRET).apply_to(ScanOptions())
        assert options.onvif_password == SECRET
        assert SECRET not in repr(options)


async def test_password_never_appears_in_logs_errors_or_evidence(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A full authenticated interview leaks the password nowhere: logs, evidence, reprs."""
    device = OnvifDevice(auth="soap-fault", user="auditor", password="not-the-one")  # noqa: S106
    caplog.set_level(logging.DEBUG)
    async with http_server(device.app()) as port:
        ctx = make_ctx(onvif_user="auditor", onvif_password=SECRET)
        host = HostTarget(
            ip=IPv4Address("127.0.0.1"),
            known=(
                Evidence(
                    host=IPv4Address("127.0.0.1"),
                    channel="wsd.xaddrs",
                    value=f"http://127.0.0.1:{port}/onvif/device_service",
                    probe="wsdiscovery",
                ),
            ),
        )
        evidence = await OnvifProbe().probe(host, ctx)
    assert sum(has_token for _action, has_token in device.calls) == 1  # it did try once
    assert caplog.records  # DEBUG logging really ran
    assert all(SECRET not in record.getMessage() for record in caplog.records)
    assert SECRET not in caplog.text
    assert all(SECRET not in repr(item) for item in evidence)
    assert SECRET not in repr(ctx.options)
    assert SECRET not in repr(ctx)


class TestModeOnEachSystem:
    @pytest.mark.parametrize(
        ("mode", "windows", "private"),
        [
            (0o100600, False, True),
            (0o100400, False, True),
            (0o100640, False, False),
            (0o100644, False, False),
            # Windows has no POSIX bits: os.stat says 0666 for any writable file, 0444 read-only.
            (0o100666, True, True),
            (0o100444, True, True),
        ],
    )
    def test_posix_modes_are_checked_and_windows_ones_are_not(
        self, mode: int, windows: bool, private: bool
    ) -> None:
        """0600 or stricter on Linux and macOS; on Windows the ACL protects the file."""
        assert mode_is_private(mode, windows=windows) is private
