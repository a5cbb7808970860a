"""`sitrep metrics` and `sitrep import-history`: the figures headless, and history coming in."""

from __future__ import annotations

import csv
import sys
import time
from collections import Counter
from pathlib import Path

from app.cli_context import Cli, command
from app.cli_output import emit_json
from app.terminal import exact_stdout
from services.analytics.history_import import CSV_FIELDS, FIRST_UPDATE_MEANS, FORMATS, ColumnMapping
from services.analytics.metrics import (
    GROUPINGS,
    UNIT_WORDS,
    Figures,
    MetricDefinition,
    MetricFilter,
    MetricTable,
    format_share,
    format_value,
    parse_threshold,
    percentile_name,
)
from services.analytics.severity_accuracy import SeverityAccuracy, load_accuracy_definition, severity_accuracy
from services.errors import ValidationError

# import-history: what came of the rows (README, "Exit codes"). A file or argument that cannot be used at
# all is invalid input (2), as for any command.
EXIT_ALL_IMPORTED = 0
EXIT_IMPORTED_WITH_WARNINGS = 10  # some rows refused, or imported with flagged milestone pairs
EXIT_NOTHING_IMPORTED = 11  # every row refused
_EXIT_OF_OUTCOME = {
    "all imported": EXIT_ALL_IMPORTED,
    "imported with warnings": EXIT_IMPORTED_WITH_WARNINGS,
    "nothing imported": EXIT_NOTHING_IMPORTED,
}
_SHOWN_EXCLUSIONS = 5
_STAT_FIELDS = ("count", "mean", "median", "p90", "min", "max")


def add_metrics_commands(sub) -> None:
    sp = command(
        sub,
        "metrics",
        "time to detect, acknowledge, identify, mitigate, resolve, between incidents, customer impact",
        json=False,
    )
    sp.add_argument(
        "--by", default="all", choices=GROUPINGS, help="group the figures (default: all together)"
    )
    sp.add_argument("--metric", action="append", default=[], help="a metric id or short name (repeatable; "
                    "default: all). `sitrep metrics --definitions` lists them")  # fmt: skip
    sp.add_argument(
        "--service", action="append", default=[], help="only incidents on this service (repeatable)"
    )
    sp.add_argument("--severity", action="append", default=[], help="only this severity (repeatable)")
    sp.add_argument(
        "--type", dest="incident_type", action="append", default=[], help="only this incident type"
    )
    sp.add_argument("--since", help="incidents that happened from this time on (e.g. 2026-01-01)")
    sp.add_argument("--until", help="incidents that happened before this time")
    sp.add_argument("--include-exercises", action="store_true", help="count drills and exercises too")
    sp.add_argument("--exclude-flagged", action="store_true", help="leave out of every metric each incident "
                    "whose history has contradicting milestones (listed; by default only the metrics using "
                    "such a pair leave it out)")  # fmt: skip
    sp.add_argument("--percentile", action="append", default=[], type=float, metavar="P",
                    help="another percentile to show, 0-100 (repeatable), e.g. --percentile 95")  # fmt: skip
    sp.add_argument("--share-under", action="append", default=[], metavar="DURATION",
                    help="the share of incidents at or under this duration (repeatable), e.g. 1m, 15min, 4h")  # fmt: skip
    sp.add_argument("--unit", choices=("h", "min", "s"),
                    help="show every duration in this unit (default: the precision each value needs)")  # fmt: skip
    sp.add_argument("--definitions", action="store_true", help="only list the metric definitions")
    out = sp.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="figures, definitions and exclusions as JSON")
    out.add_argument("--csv", action="store_true", help="figures and exclusions as CSV, definitions included")

    sp = command(
        sub,
        "import-history",
        "import past incidents from a CSV, a Statuspage incidents.json or a Sitrep export",
        json=False,
    )
    sp.add_argument("file")
    sp.add_argument("--format", choices=FORMATS, help="default: from the file name and content")
    sp.add_argument(
        "--mapping", help='a TOML mapping file: [columns] field = "CSV column", timezone, date_formats'
    )
    sp.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                    help=f"map a CSV column (repeatable; FIELD= unmaps one the header would map); "
                         f"fields: {', '.join(CSV_FIELDS)}")  # fmt: skip
    sp.add_argument("--values", action="append", default=[], metavar="FIELD=RAW:MEANT,...",
                    help="what a column's values mean (repeatable), e.g. --values severity=0:SEV5,1:SEV4")  # fmt: skip
    sp.add_argument("--default-severity", metavar="SEV",
                    help="severity for rows without one (default: 'unknown', kept apart in metrics)")  # fmt: skip
    sp.add_argument("--first-update", choices=FIRST_UPDATE_MEANS, default="declared",
                    help="Statuspage: what an incident's first update was (default: its declaration)")  # fmt: skip
    sp.add_argument("--tz", help="time zone for times written without one (default UTC), e.g. Europe/Berlin")
    sp.add_argument("--date-format", action="append", default=[], help="a strftime pattern for dates, e.g. "
                    "'%%d/%%m/%%Y %%H:%%M' (repeatable)")  # fmt: skip
    sp.add_argument(
        "--source", help="what to call this source (default: csv); part of each incident's identity"
    )
    sp.add_argument(
        "--save-mapping", metavar="FILE", help="also write the mapping used to FILE, for next time"
    )
    sp.add_argument("--dry-run", action="store_true", help="read and check everything, write nothing")
    sp.add_argument("--json", action="store_true", help="print the report as JSON")


def run_metrics(cli: Cli) -> int:
    return print_metrics(cli) if cli.a.command == "metrics" else import_history(cli)


def _filter(cli: Cli) -> MetricFilter:
    a = cli.a
    return MetricFilter(
        since=cli.when(a.since, "since"),
        until=cli.when(a.until, "until"),
        services=tuple(a.service),
        severities=tuple(a.severity),
        incident_types=tuple(a.incident_type),
        include_exercises=a.include_exercises,
        exclude_flagged=a.exclude_flagged,
    )


def _figures(cli: Cli) -> Figures:
    return Figures(
        percentiles=tuple(cli.a.percentile), share_under=tuple(parse_threshold(t) for t in cli.a.share_under)
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
    if flt.exclude_flagged:
        parts.append("incidents with contradicting milestones left out of every metric")
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
            acc = load_accuracy_definition(cli.s.metrics._config_dir)
            if acc.enabled:
                print(f"{'severity_accuracy':<24} {acc.label} ({acc.short}) = final severity vs declared, and vs "
                      f"the impact model's proposal\n{'':<24} {acc.description}")  # fmt: skip
        return 0
    flt = _filter(cli)
    figures = _figures(cli)
    timed = [m for m in a.metric if m.strip().lower() not in ACCURACY_NAMES]
    accuracy = accuracy_for(cli, flt, asked=len(timed) < len(a.metric) or not a.metric)
    tables = service.tables(timed or None, a.by, flt, figures) if timed or not a.metric else []
    if a.json:
        emit_json({"by": a.by, "unit": a.unit or "min", "filter": tables[0].filter.as_dict() if tables else None,
                   "metrics": [_json_table(t, a.unit) for t in tables],
                   **({"severity_accuracy": accuracy.as_dict()} if accuracy else {})})  # fmt: skip
    elif a.csv:
        _write_csv(tables, figures, a.unit)
    else:
        print(_describe(tables[0].filter if tables else flt))
        for t in tables:
            print()
            _print_table(t, a.unit)
        if accuracy:
            print()
            print(accuracy.text())
    return 0


ACCURACY_NAMES = ("severity_accuracy", "sevacc", "severity accuracy")


def accuracy_for(cli: Cli, flt: MetricFilter, *, asked: bool) -> SeverityAccuracy | None:
    """Severity accuracy when it is asked for (by name, or no --metric given) and not disabled."""
    if not asked:
        return None
    result = severity_accuracy(cli.s.store, cli.s.catalog, flt, cli.s.metrics._config_dir)
    return result if result.definition.enabled else None


def _in_unit(value: float | None, unit: str | None) -> float | None:
    if value is None or unit is None:
        return value
    return value / {"h": 60.0, "min": 1.0, "s": 1 / 60}[unit]


def _json_table(t: MetricTable, unit: str | None) -> dict:
    """The table as JSON, durations in `unit` (minutes by default); impact stays in user-minutes."""
    doc = t.as_dict()
    if unit is None or t.metric.kind == "impact":
        return doc
    doc["unit"] = UNIT_WORDS[unit]
    durations = (
        "mean",
        "median",
        "p90",
        "min",
        "max",
        "q1",
        "q3",
        *(percentile_name(p) for p, _v in t.overall.percentiles),
    )
    for stats in [doc["overall"], *doc["groups"]]:
        for k in durations:
            if k in stats:
                stats[k] = _in_unit(stats[k], unit)
    return doc


def _columns(t: MetricTable) -> list[tuple[str, str]]:
    """(header, what) for each figure shown: the usual ones, the percentiles asked for, the shares."""
    cols = [(k, k) for k in ("mean", "median", "p90")]
    cols += [(percentile_name(p), f"pct:{i}") for i, (p, _v) in enumerate(t.overall.percentiles)]
    cols += [("min", "min"), ("max", "max")]
    cols += [(f"≤{x.label}", f"share:{i}") for i, x in enumerate(t.overall.shares)]
    return cols


def _cell(m: MetricDefinition, st, what: str, unit: str | None) -> str:
    if what.startswith("pct:"):
        return format_value(m, st.percentiles[int(what[4:])][1], unit=False, fixed=unit)
    if what.startswith("share:"):
        return format_share(st.shares[int(what[6:])])
    return format_value(m, getattr(st, what), unit=False, fixed=unit)


def _print_table(t: MetricTable, unit: str | None) -> None:
    m = t.metric
    if not t.overall.count:
        # Nothing measured: one line saying why, not a table of dashes.
        reasons = Counter(x.reason for x in t.excluded)
        why = "; ".join(f"{n} incident(s): {reason}" for reason, n in reasons.most_common(3)) or (
            "it needs two incidents or more" if m.kind == "between" else "no incidents match the filter")
        print(f"{m.label} ({m.short}): nothing to measure — {why}.")
        return
    print(_definition_line(m) + (f"; shown in {UNIT_WORDS[unit]}" if unit and m.kind != "impact" else ""))
    if m.description:
        print(f"  {m.description}")
    head = f"by {t.by}" if t.by != "all" else ""
    cols = _columns(t)
    rows = [(g.group, g.stats) for g in t.groups] if t.by != "all" else []
    rows.append(("all", t.overall))
    cells = [[_cell(m, st, what, unit) for _h, what in cols] for _name, st in rows]
    width = max([len(head), 10] + [len(name) for name, _st in rows])
    widths = [max([len(h), 8] + [len(r[i]) for r in cells]) for i, (h, _w) in enumerate(cols)]
    print(
        f"  {head:<{width}} {'n':>6} "
        + " ".join(f"{h:>{w}}" for (h, _x), w in zip(cols, widths, strict=True))
    )
    for (name, st), row in zip(rows, cells, strict=True):
        print(
            f"  {name:<{width}} {st.count:>6} "
            + " ".join(f"{c:>{w}}" for c, w in zip(row, widths, strict=True))
        )
    if t.counting:
        print(f"  ({t.counting})")
    if t.excluded:
        print(f"  Left out: {len(t.excluded)} incident(s) this figure cannot be measured for:")
        for x in t.excluded[:_SHOWN_EXCLUSIONS]:
            print(f"    {x.key:<10} {x.reason}")
        if len(t.excluded) > _SHOWN_EXCLUSIONS:
            print(f"    ... and {len(t.excluded) - _SHOWN_EXCLUSIONS} more (--json or --csv lists them all)")


def _write_csv(tables: list[MetricTable], figures: Figures, unit: str | None) -> None:
    w = csv.writer(exact_stdout(), lineterminator="\n")
    extra = [percentile_name(p) for p in figures.percentiles]
    shares = [f"share_under_{label}" for label, _m in figures.share_under]
    w.writerow(["record", "metric", "label", "formula", "unit", "description", "by", "counting", "group",
                *_STAT_FIELDS, *extra, *shares, "incident", "reason"])  # fmt: skip
    blank = [""] * (len(_STAT_FIELDS) + len(extra) + len(shares))
    for t in tables:
        m = t.metric
        shown = UNIT_WORDS[unit] if unit and m.kind != "impact" else m.unit
        lead = [m.id, m.label, m.formula, shown, m.description, t.by, t.counting or ""]

        def figures_of(st, m=m) -> list[str]:
            scale = unit if m.kind != "impact" else None
            out = [str(st.count)] + [_num(_in_unit(getattr(st, k), scale)) for k in _STAT_FIELDS[1:]]
            out += [_num(_in_unit(v, scale)) for _p, v in st.percentiles]
            out += ["" if x.share is None else f"{x.share:.4f}" for x in st.shares]
            return out

        for g in t.groups:
            w.writerow(["group", *lead, g.group, *figures_of(g.stats), "", ""])
        w.writerow(["overall", *lead, "all", *figures_of(t.overall), "", ""])
        for x in t.excluded:
            w.writerow(["excluded", *lead, "", *blank, x.key, x.reason])


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
    a = cli.a
    mapping = ColumnMapping.from_file(Path(a.mapping)) if a.mapping else ColumnMapping()
    flags = ColumnMapping.from_pairs(a.map, a.values)
    flags.timezone = a.tz
    flags.date_formats = list(a.date_format)
    flags.source = a.source
    flags.default_severity = a.default_severity
    mapping = mapping.merged_with(flags)
    report = cli.s.history.import_file(
        Path(a.file),
        author=cli.author,
        format=a.format,
        mapping=mapping,
        timezone=a.tz,
        dry_run=a.dry_run,
        progress=_ProgressLine(),
        first_update=a.first_update,
    )
    if a.save_mapping:
        try:
            Path(a.save_mapping).write_text(mapping.to_toml(), encoding="utf-8")
        except OSError as exc:
            raise ValidationError(f"Cannot write {a.save_mapping}: {exc.strerror}.") from None
    if a.json:
        emit_json(report.as_dict())
    else:
        print("\n".join(report.summary_lines()))
    for note in report.columns:
        print(f"sitrep: import-history: column not used: {note}", file=sys.stderr)
    for p in report.flagged:
        print(f"sitrep: import-history: imported with flagged milestones: {p}", file=sys.stderr)
    for p in report.problems:
        print(f"sitrep: import-history: refused: {p}", file=sys.stderr)
    return _EXIT_OF_OUTCOME[report.outcome]
