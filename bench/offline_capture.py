"""Benchmark: `camaudit identify` on a ~1 GB packet capture, its wall time and peak memory.

The capture is synthesised in a temporary folder from real packets: tcpdump records camaudit
scanning the simulated site (inside the lab's scanner namespace), then those frames are written
again and again with each copy moved to its own addresses and client ports, interleaved with
filler traffic (bulk TCP and RTP-like UDP that no rule reads). The big file is deleted afterwards.

Needs root for the lab, unless --seed names a capture recorded earlier. Usage:
    python bench/offline_capture.py                      # about 1 GB
    python bench/offline_capture.py --size-mb 200 --seed site.pcap
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import secrets
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from camaudit.inputs.pcap import CaptureReader

LAB_PACKAGE = "camlab"  # the simulator beside camaudit (not in its wheel)
FILLER_PAYLOAD = 1400  # a full Ethernet frame's worth of bulk data
FILLER_SHARE = 0.4  # of the bytes written
SERVICE_PORTS = frozenset({37020, 37777, 37810})  # above 32767 but not the scanner's ephemeral side


def record_seed(folder: Path) -> Path:
    """A real capture of camaudit scanning the default site (lab up and down around it)."""
    control = importlib.import_module(f"{LAB_PACKAGE}.control")
    topology = importlib.import_module(f"{LAB_PACKAGE}.topology")
    labid = "bo" + secrets.token_hex(3)
    seed = folder / "seed.pcap"
    control.up("default", labid=labid)
    try:
        inside = ["ip", "netns", "exec", topology.ns_scanner(labid)]
        tcpdump = subprocess.Popen(
            [
                *inside,
                "tcpdump",
                "--immediate-mode",
                "-i",
                "eth0",
                "-n",
                "-s",
                "0",
                "-U",
                "-Z",
                "root",
                "-w",
                str(seed),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert tcpdump.stderr is not None
        tcpdump.stderr.readline()  # "listening on ..."
        scan = [sys.executable, "-m", "camaudit", "scan", "198.51.100.0/24", "198.18.5.0/24"]
        subprocess.run(
            [*inside, *scan, "--listen", "1", "-f", "json", "-o", str(folder / "seed.json")],
            check=True,
            capture_output=True,
            timeout=300,
        )
        time.sleep(0.5)
        tcpdump.terminate()
        tcpdump.wait(timeout=10)
    finally:
        control.down(labid)
    return seed


def seed_frames(seed: Path) -> list[bytes]:
    """The Ethernet frames of the seed capture."""
    with seed.open("rb") as stream:
        reader = CaptureReader(stream, pcapng=False)
        frames = [frame.data for frame in reader if frame.linktype == 1]
    if reader.stopped:
        raise SystemExit(f"seed capture is damaged: {reader.stopped}")
    return frames


def moved(frame: bytes, copy: int) -> bytes:
    """The frame as if sent on copy number `copy`'s own /24 (198.18.0.0/15) and client ports.

    198.51.100.x becomes 198.18.<copy>.x and 198.18.5.x becomes 198.19.<copy>.x; ports above
    32767 (the scanner's ephemeral side) are shifted, so each copy's connections are distinct.
    """
    data = bytearray(frame)
    ethertype = struct.unpack_from("!H", data, 12)[0]
    if ethertype == 0x0806 and len(data) >= 42:
        for at in (28, 38):  # ARP sender and target addresses
            _move_address(data, at, copy)
    elif ethertype == 0x0800 and len(data) >= 34:
        for at in (26, 30):
            _move_address(data, at, copy)
        header = (data[14] & 0x0F) * 4
        if data[23] in (6, 17) and len(data) >= 14 + header + 4:
            for at in (14 + header, 16 + header):
                port = struct.unpack_from("!H", data, at)[0]
                if port >= 32768 and port not in SERVICE_PORTS:
                    struct.pack_into("!H", data, at, 32768 + (port + copy * 97) % 28000)
    return bytes(data)


def _move_address(data: bytearray, at: int, copy: int) -> None:
    if data[at : at + 3] == b"\xc6\x33\x64":  # 198.51.100
        data[at : at + 3] = bytes([198, 18, copy])
    elif data[at : at + 3] == b"\xc6\x12\x05":  # 198.18.5
        data[at : at + 3] = bytes([198, 19, copy])


def filler(number: int) -> bytes:
    """A bulk TCP segment or an RTP-like datagram between two made-up hosts (nothing reads it)."""
    src = bytes([198, 19, 255, 1 + number % 200])  # copies use 198.19.0-249 only
    dst = bytes([198, 19, 254, 1 + number % 50])
    body = (number.to_bytes(4, "big") * (FILLER_PAYLOAD // 4))[:FILLER_PAYLOAD]
    if number % 2:
        transport = struct.pack("!HHHH", 40000 + number % 500, 5004, 8 + len(body), 0) + body
        protocol = 17
    else:
        seq = (number * FILLER_PAYLOAD) & 0xFFFFFFFF
        transport = struct.pack(
            "!HHIIBBHHH", 50000 + number % 64, 9000, seq, 0, 0x50, 0x18, 0, 0, 0
        )
        transport += b"\x00\x00\x00\x01" + body[4:]  # not HTTP, RTSP or TLS: dropped at once
        protocol = 6
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(transport), 0, 0, 64, protocol, 0, src, dst)
    ethernet = bytes.fromhex("02000000aa01 02000000bb02 0800")
    return ethernet + ip + transport


def write_capture(path: Path, frames: list[bytes], size: int) -> tuple[int, int]:
    """Write copies of `frames` and filler until `size` bytes; (copies, packets) written."""
    record = struct.Struct("<IIII")
    seed_bytes = sum(len(frame) + 16 for frame in frames)
    copies = min(250, max(1, int(size * (1 - FILLER_SHARE) / seed_bytes)))
    packets = 0
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        written, number = 24, 0
        for copy in range(copies):
            for frame in frames:
                data = moved(frame, copy)
                out.write(record.pack(copy, 0, len(data), len(data)) + data)
                written += 16 + len(data)
                packets += 1
            # Filler between the copies, so the site's packets are spread through the file.
            while written < (copy + 1) * size // copies:
                data = filler(number)
                number += 1
                out.write(record.pack(copy, 1, len(data), len(data)) + data)
                written += 16 + len(data)
                packets += 1
    return copies, packets


READ_ONLY = (
    "import sys; from camaudit.inputs import read_inputs; "
    "print(len(read_inputs([sys.argv[1]]).evidence))"
)


def reader_only(big: Path) -> tuple[float, float, int]:
    """The capture read without judging or reporting: wall seconds, peak RSS MiB, evidence kept.

    What grows with the number of devices (matching, the report) is left out, so this shows
    the reader's own memory, which the flow caps bound.
    """
    started = time.monotonic()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-c", READ_ONLY, str(big)],
        capture_output=True,
        text=True,
        timeout=3600,
        check=True,
    )
    wall = time.monotonic() - started
    return wall, int(done.stderr.strip().splitlines()[-1]) / 1024, int(done.stdout.strip())


def main() -> None:
    """Synthesise, judge under GNU time, report, delete."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--seed", type=Path, help="a capture of the site recorded earlier")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="camaudit-bench-capture-"))
    try:
        seed = args.seed or record_seed(folder)
        frames = seed_frames(seed)
        big = folder / "big.pcap"
        started = time.monotonic()
        copies, packets = write_capture(big, frames, args.size_mb * 1024 * 1024)
        print(
            f"synthesised {big.stat().st_size / 1e9:.2f} GB, {packets:,} packets "
            f"({copies} copies of {len(frames):,} seed packets) "
            f"in {time.monotonic() - started:.0f} s"
        )
        output = folder / "out.json"
        started = time.monotonic()
        # NOTE: GNU time measures the identify process alone; RUSAGE_CHILDREN would also count
        # the seed scan, whichever was larger.
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "camaudit", "identify", str(big)]
            + ["-o", str(output)],
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        wall = time.monotonic() - started
        peak = int(done.stderr.strip().splitlines()[-1]) / 1024  # %M: max RSS in KiB
        if done.returncode != 0:
            raise SystemExit(f"identify failed ({done.returncode}): {done.stderr[-2000:]}")
        reader_wall, reader_peak, kept = reader_only(big)
        devices = json.loads(output.read_text())["devices"]
        flagged = sum(1 for device in devices if device["flagged"])
        rate = big.stat().st_size / 1e6 / wall
        print(
            f"identify: {wall:.1f} s wall ({rate:.0f} MB/s), peak RSS {peak:.0f} MiB, "
            f"{len(devices):,} devices, {flagged:,} flagged ({flagged / copies:.1f} per copy)"
        )
        print(
            f"reading alone: {reader_wall:.1f} s, peak RSS {reader_peak:.0f} MiB "
            f"({kept:,} evidence items kept)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if os.path.exists(folder):
            print(f"could not remove {folder}", file=sys.stderr)


if __name__ == "__main__":
    main()
