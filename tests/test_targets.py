"""Targets and scope: parsing what the user typed, and refusing what is too big."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from camaudit.errors import ConfigError
from camaudit.targets import build_scope, parse_target


class TestParseTarget:
    def test_single_address_is_a_host_network(self) -> None:
        """A bare address becomes a /32."""
        assert parse_target("198.51.100.7") == [IPv4Network("198.51.100.7/32")]

    def test_cidr_keeps_its_prefix_even_with_host_bits(self) -> None:
        """A CIDR with host bits set is taken as its network, as people often type it."""
        assert parse_target("198.51.100.77/24") == [IPv4Network("198.51.100.0/24")]

    def test_short_range_covers_exactly_the_addresses(self) -> None:
        """198.51.100.10-40 covers 31 addresses, no more."""
        networks = parse_target("198.51.100.10-40")
        addresses = {a for n in networks for a in n}
        assert len(addresses) == 31
        assert min(addresses) == IPv4Address("198.51.100.10")
        assert max(addresses) == IPv4Address("198.51.100.40")

    def test_a_range_in_scope_keeps_the_addresses_at_block_edges(self) -> None:
        """198.51.100.10-40 and 127.0.0.150-191 are split into CIDR blocks; the scope still
        holds every address of the range (.152, .159, .160 are block network/broadcast
        addresses of the split, not of the user's network)."""
        scope = build_scope(["198.51.100.10-40"])
        assert sorted(scope.addresses()) == [IPv4Address("198.51.100.10") + i for i in range(31)]
        assert scope.size() == 31
        loopback = build_scope(["127.0.0.150-191"])
        assert len(list(loopback.addresses())) == loopback.size() == 42
        cidr = build_scope(["198.51.100.0/24"])
        assert cidr.size() == len(list(cidr.addresses())) == 254  # network and broadcast out

    def test_full_range_may_cross_octets(self) -> None:
        """A range with two full addresses may span several /24s."""
        networks = parse_target("198.18.0.250-198.18.1.5")
        assert sum(n.num_addresses for n in networks) == 12

    @pytest.mark.parametrize(
        "text", ["198.51.100.40-10", "198.51.100.1-300", "300.1.1.1", "198.51.100.0/33", ""]
    )
    def test_nonsense_is_a_config_error(self, text: str) -> None:
        """Bad targets raise ConfigError with the text in the message."""
        with pytest.raises(ConfigError):
            parse_target(text, resolve=False)

    def test_unresolvable_host_name_is_a_config_error(self) -> None:
        """A name that does not resolve says so (the .invalid TLD never resolves, RFC 2606)."""
        with pytest.raises(ConfigError, match="cannot resolve"):
            parse_target("no-such-camera.invalid")

    def test_localhost_resolves_to_loopback(self) -> None:
        """Host names are resolved to IPv4 addresses."""
        assert IPv4Network("127.0.0.1/32") in parse_target("localhost")


class TestScope:
    def test_exclusions_leave_the_scope(self) -> None:
        """Excluded addresses are neither in scope nor enumerated."""
        scope = build_scope(["198.51.100.0/29"], exclude=["198.51.100.3"])
        addresses = list(scope.addresses())
        assert IPv4Address("198.51.100.3") not in scope
        assert IPv4Address("198.51.100.3") not in addresses
        assert addresses == [IPv4Address(f"198.51.100.{i}") for i in (1, 2, 4, 5, 6)]

    def test_overlapping_targets_enumerate_each_address_once(self) -> None:
        """A host named twice is probed once."""
        scope = build_scope(["198.51.100.0/30", "198.51.100.1"])
        assert list(scope.addresses()) == [IPv4Address("198.51.100.1"), IPv4Address("198.51.100.2")]

    def test_more_than_the_limit_is_refused_without_yes(self) -> None:
        """A /15 is 131,072 addresses: refused with a hint about --yes."""
        with pytest.raises(ConfigError, match="--yes"):
            build_scope(["198.18.0.0/15"], max_addresses=65_536)
        assert build_scope(["198.18.0.0/15"], max_addresses=None).size() > 65_536

    def test_things_that_are_not_addresses_are_not_in_scope(self) -> None:
        """Membership is only for IPv4Address values."""
        scope = build_scope(["198.51.100.0/24"])
        assert "198.51.100.1" not in scope
        assert IPv4Address("198.51.101.1") not in scope
