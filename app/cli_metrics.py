"""`sitrep metrics` and `sitrep import-history`: the figures headless, and history coming in."""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli import emit_json
from app.terminal import exact_stdout
from services.errors import ValidationError
from services.metrics import MetricDefinition, MetricFilter, MetricTable, format_value

if TYPE_CHECKING:
    from app.cli import Cli

EXIT_ROWS_LEFT_OUT = 2
_SHOWN_EXCLUSIONS = 5
_STAT_FIELDS = ("count", "mean", "median", "p90", "min", "max")


def _filter(cli: Cli) -> MetricFilter:
    a = cli.a
    return MetricFilter(
        since=cli.when(a.since, "since"),
        until=cli.when(a.until, "until"),
        services=tuple(a.service),
        severities=tuple(a.severity),
        incident_types=tuple(a.incident_type),
        include_exercises=a.include_exercises,
    )


def _describe(flt: MetricFilter) -> str:
    parts = []
    if flt.since or flt.until:
        since = flt.since.strftime("%Y-%m-%d %H:%M UTC") if flt.since else "the start"
        until = flt.until.strftime("%Y-%m-%d %H:%M UTC") if flt.until else "now"
        parts.append(f"from {since} to {until}")
    if flt.services:
        parts.append("services " + ", ".join(flt.services))
    if flt.severities:
        parts.append("severity " + ", ".join(flt.severities))
    if flt.incident_types:
        parts.append("type " + ", ".join(flt.incident_types))
    parts.append("exercises counted" if flt.include_exercises else "exercises left out")
    return "Incidents: " + "; ".join(parts) + ". Periods are UTC."


def _definition_line(d: MetricDefinition) -> str:
    shown = " (shown in user-hours)" if d.kind == "impact" else ""
    return f"{d.label} ({d.short}) = {d.formula}, in {d.unit}{shown}"


def print_metrics(cli: Cli) -> int:
    a = cli.a
    service = cli.s.metrics
    if a.definitions:
        defs = list(service.definitions.values())
        if a.json:
            emit_json([d.as_dict() for d in defs])
        elif a.csv:
            w = csv.writer(exact_stdout(), lineterminator="\n")
            w.writerow(["id", "label", "short", "kind", "start", "end", "formula", "unit", "description"])
            for d in defs:
                x = d.as_dict()
                w.writerow(
                    [
                        x[k]
                        for k in (
                            "id",
                            "label",
                            "short",
                            "kind",
                            "start",
                            "end",
                            "formula",
                            "unit",
                            "description",
                        )
                    ]
                )
        else:
            for d in defs:
                print(f"{d.id:<24} {_definition_line(d)}\n{'':<24} {d.description}")
        return 0
    flt = _filter(cli)
    tables = service.tables(a.metric or None, a.by, flt)
    if a.json:
        emit_json({"by": a.by, "filter": tables[0].filter.as_dict() if tables else None,
                   "metrics": [t.as_dict() for t in tables]})  # fmt: skip
    elif a.csv:
        _write_csv(tables)
    else:
        print(_describe(tables[0].filter if tables else flt))
        for t in tables:
            print()
            _print_table(t)
    return 0


def _print_table(t: MetricTable) -> None:
    m = t.metric
    print(_definition_line(m))
    if m.description:
        print(f"  {m.description}")
    head = f"by {t.by}" if t.by != "all" else ""
    width = max([len(head), 10] + [len(g.group) for g in t.groups])
    print(f"  {head:<{width}} {'n':>6} {'mean':>10} {'median':>10} {'p90':>10} {'min':>10} {'max':>10}")
    rows = [(g.group, g.stats) for g in t.groups] if t.by != "all" else []
    rows.append(("all", t.overall))
    for name, st in rows:
        cells = [format_value(m, getattr(st, k), unit=False) for k in ("mean", "median", "p90", "min", "max")]
        print(f"  {name:<{width}} {st.count:>6} " + " ".join(f"{c:>10}" for c in cells))
    if t.by == "service" and m.kind != "between":
        print("  (an incident on several services counts for each; 'all' counts it once)")
    if t.excluded:
        print(f"  Left out: {len(t.excluded)} incident(s) this figure cannot be measured for:")
        for x in t.excluded[:_SHOWN_EXCLUSIONS]:
            print(f"    {x.key:<10} {x.reason}")
        if len(t.excluded) > _SHOWN_EXCLUSIONS:
            print(f"    ... and {len(t.excluded) - _SHOWN_EXCLUSIONS} more (--json or --csv lists them all)")


def _write_csv(tables: list[MetricTable]) -> None:
    w = csv.writer(exact_stdout(), lineterminator="\n")
    w.writerow(["record", "metric", "label", "formula", "unit", "description", "by", "group",
                *_STAT_FIELDS, "incident", "reason"])  # fmt: skip
    for t in tables:
        m = t.metric
        lead = [m.id, m.label, m.formula, m.unit, m.description, t.by]
        for g in t.groups:
            w.writerow(["group", *lead, g.group, *(_num(getattr(g.stats, k)) for k in _STAT_FIELDS), "", ""])
        w.writerow(["overall", *lead, "all", *(_num(getattr(t.overall, k)) for k in _STAT_FIELDS), "", ""])
        for x in t.excluded:
            w.writerow(["excluded", *lead, "", *([""] * len(_STAT_FIELDS)), x.key, x.reason])


def _num(value) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}"


# -- import-history ---------------------------------------------------------------------------------------
class _ProgressLine:
    """Progress on stderr: one rewritten line on a terminal, a line per phase otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.phase = ""

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        finished = done >= total
        if phase != self.phase:
            self.phase = phase
        elif not finished and now - self.last < 0.2:
            return
        self.last = now
        text = f"{phase}: {done:,}/{total:,}"
        if self.tty:
            sys.stderr.write("\r" + text + ("\n" if finished else ""))
        elif finished:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()


def import_history(cli: Cli) -> int:
    from services.history_import import ColumnMapping

    a = cli.a
    mapping = ColumnMapping.from_file(Path(a.mapping)) if a.mapping else ColumnMapping()
    flags = ColumnMapping.from_pairs(a.map)
    flags.timezone = a.tz
    flags.date_formats = list(a.date_format)
    flags.source = a.source
    mapping = mapping.merged_with(flags)
    report = cli.s.history.import_file(
        Path(a.file),
        author=cli.author,
        format=a.format,
        mapping=mapping,
        timezone=a.tz,
        dry_run=a.dry_run,
        progress=_ProgressLine(),
    )
    if a.save_mapping:
        try:
            Path(a.save_mapping).write_text(mapping.to_toml(), encoding="utf-8")
        except OSError as exc:
            raise ValidationError(f"Cannot write {a.save_mapping}: {exc.strerror}.") from None
    if a.json:
        emit_json(report.as_dict())
    else:
        verb = "Would import" if report.dry_run else "Imported"
        line = f"{verb} {len(report.created):,} incident(s) from {Path(report.file).name} ({report.format})"
        if report.created:
            line += f": {report.created[0]}" + (f" … {report.created[-1]}" if len(report.created) > 1 else "")
        print(line)
        if report.unchanged:
            print(f"Already imported, left unchanged: {report.unchanged:,}")
        if report.skipped:
            print(f"Skipped (not incidents): {len(report.skipped):,}")
    for p in report.problems:
        print(f"sitrep: import-history: left out: {p}", file=sys.stderr)
    return EXIT_ROWS_LEFT_OUT if report.problems else 0
