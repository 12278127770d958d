"""Rendering: a Plan (or an apply report) as text, json, markdown or github. Pure: returns str.

    escape.py    one escaping function per format, for every string that is data
    words.py     the shared wording of bindings, changes and drift
    text.py      terminal output, Terraform-like
    markdown.py  pull-request comments and step summaries
    github.py    workflow-command annotations at config lines
    report.py    the apply report in each format, and the progress line
    documents.py JSON documents other than the plan: the drift report; provenance in a plan
    provenance.py the wording of provenance: when, who, which side changed last, already seen
    history.py   `history`: a number's story as text or JSON
    fleet.py     a fleet's plan and drift: a section per target, the moves, the totals
    fleet_report.py  a fleet's apply report
JSON is the plan document of `inbound_sync.plan.saved`.
"""

from __future__ import annotations

from typing import Literal

Format = Literal["text", "json", "markdown", "github"]
FORMATS: tuple[Format, ...] = ("text", "json", "markdown", "github")

__all__ = ["FORMATS", "Format"]
