"""Subjects of outgoing mail: `Re: <subject> <tag>` with the case tag exactly once."""

from __future__ import annotations


def reply_subject(subject: str, tag: str) -> str:
    """`Re: ` + the subject with the tag once at the end (kept where it already is)."""
    base = subject.strip()
    if tag.lower() not in base.lower():
        base = f"{base} {tag}".strip()
    return f"Re: {base}"
