"""`camaudit policies`: the shipped policy packs, and which makers each one flags."""

from __future__ import annotations

import json

import click

from camaudit.identify import vocabulary
from camaudit.identify.policy import DEFAULT_POLICY, Policy, available_policies, load_policy


def _as_text(policy: Policy) -> str:
    """A few lines per pack: id, date, title, the makers it flags and its sources."""
    display = vocabulary.load_identifiers().maker_display
    default = " (default)" if policy.id == DEFAULT_POLICY else ""
    as_of = f", as of {policy.as_of.isoformat()}" if policy.as_of else ""
    lines = [f"{policy.id}{default}{as_of}", f"  {policy.title}"]
    lines.append("  flags: " + ", ".join(display(entry.maker) for entry in policy.makers))
    lines.extend(f"  source: {source.url}" for source in policy.sources)
    return "\n".join(lines)


def _as_record(policy: Policy) -> dict[str, object]:
    return {
        "id": policy.id,
        "default": policy.id == DEFAULT_POLICY,
        "title": policy.title,
        "as_of": policy.as_of.isoformat() if policy.as_of else None,
        "summary": policy.summary,
        "flags": [
            {"maker": entry.maker, "reason": entry.reason, "source": entry.source}
            for entry in policy.makers
        ],
        "sources": [{"title": s.title, "url": s.url} for s in policy.sources],
    }


@click.command("policies")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
def policies_command(fmt: str) -> None:
    """List the policy packs (--policy ID) and the makers each one flags."""
    packs = [load_policy(name) for name in available_policies()]
    if fmt == "json":
        click.echo(json.dumps([_as_record(p) for p in packs], indent=2))
        return
    click.echo("\n\n".join(_as_text(p) for p in packs))
