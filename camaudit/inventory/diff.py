"""What changed between two scans: devices added, removed, or changed (pure; no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from camaudit.identity import device_identity, pair_up, unpaired
from camaudit.models import Device, ScanResult

# Fields whose change is worth telling someone about; the flag is compared as flagged/not.
WATCHED_FIELDS = ("ip", "maker", "model", "firmware", "flagged")


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldChange:
    """One field of one device that differs between the scans."""

    field: str
    old: str
    new: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceChange:
    """The same device (by MAC, serial or IP) seen differently in the newer scan."""

    old: Device
    new: Device
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanDiff:
    """Devices only in the newer scan, only in the older one, and seen in both but changed."""

    added: tuple[Device, ...] = ()
    removed: tuple[Device, ...] = ()
    changed: tuple[DeviceChange, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the scans saw the same devices the same way."""
        return not (self.added or self.removed or self.changed)


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def field_changes(old: Device, new: Device) -> tuple[FieldChange, ...]:
    """The watched fields that differ between two sightings of one device."""
    changes = []
    for name in WATCHED_FIELDS:
        before, after = _show(getattr(old, name)), _show(getattr(new, name))
        if before != after:
            changes.append(FieldChange(field=name, old=before, new=after))
    return tuple(changes)


def diff(old: ScanResult, new: ScanResult) -> ScanDiff:
    """Compare two scans, pairing devices by MAC, then serial, then IP."""
    old_devices = sorted(old.devices, key=lambda d: d.ip)
    new_devices = sorted(new.devices, key=lambda d: d.ip)
    pairs = pair_up(old_devices, new_devices, device_identity, device_identity)
    changed = []
    for i, j in pairs:
        changes = field_changes(old_devices[i], new_devices[j])
        if changes:
            changed.append(DeviceChange(old=old_devices[i], new=new_devices[j], changes=changes))
    return ScanDiff(
        added=tuple(new_devices[j] for j in unpaired(len(new_devices), pairs, side=1)),
        removed=tuple(old_devices[i] for i in unpaired(len(old_devices), pairs, side=0)),
        changed=tuple(sorted(changed, key=lambda c: c.new.ip)),
    )
