"""camaudit: find IP cameras, flag Hikvision/Dahua hardware. No stable Python API: use the CLI."""

__version__ = "0.1.0"
