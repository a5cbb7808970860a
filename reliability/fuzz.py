"""The fuzz corpus: malformed import files of every format Sitrep reads, and odd command lines.

Every case runs through the real command line. A case passes when Sitrep either accepts it (and the store
still lists, shows and exports afterwards) or refuses it with a message for a person; an internal error
(exit 70, a traceback) fails it. After the corpus, `list` must print one line per incident (a title
cannot forge a row) and no escape sequence.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from reliability.common import Figure, Size, clear_refusal, internal_error, sitrep
from services.core import Sitrep

Case = tuple[str, Callable[[Path], list[str]]]  # (name, make the files it needs -> the command line)


def _seed(data: Path) -> dict:
    """A store with one incident worth exporting; its export is the corpus's good file."""
    data.mkdir(parents=True, exist_ok=True)
    app = Sitrep.open(f"sqlite:///{data / 'sitrep.db'}", backups_dir=data / "backups")
    try:
        inc = app.incidents.declare("Checkout: payments failing", "SEV2", author="ana", services=["checkout"],
                                    affected_users=1200)  # fmt: skip
        app.timeline.log(inc.id, "Errors at 40% since 09:58", author="ana", kind="observation")
        app.timeline.log(inc.id, "Roll back", author="ana", kind="decision", rationale="matches the deploy")
        return app.exchange.export()
    finally:
        app.close()


def _export_cases(good: dict, big: bool) -> Iterator[tuple[str, object]]:
    """(name, document or raw text) for `sitrep import`."""
    def edit(name: str, change: Callable[[dict], None]):
        doc = copy.deepcopy(good)
        change(doc)
        return name, doc

    inc = lambda d: d["incidents"][0]  # noqa: E731
    yield "a good export (accepted)", good
    yield "nested 100,000 deep", "[" * 100_000 + "]" * 100_000
    yield "nested 5,000 deep in data", json.dumps(good).replace('"data": null', '"data": ' + '{"a":' * 5000 + "1" + "}" * 5000, 1)
    yield "a 5,000-digit number", json.dumps(good).replace('"number": 1', '"number": 1' + "0" * 5000, 1)
    yield "a 5,000-digit float", json.dumps(good).replace('"affected_users": 1200', '"affected_users": 1' + "0" * 5000 + ".5", 1)
    yield edit("affected users 2**70", lambda d: inc(d).update(affected_users=2**70))
    yield edit("affected users -5", lambda d: inc(d).update(affected_users=-5))
    yield edit("affected users 1.5", lambda d: inc(d).update(affected_users=1.5))
    yield edit("affected users true", lambda d: inc(d).update(affected_users=True))
    yield edit("a NUL in the title", lambda d: inc(d).update(title="Checkout\x00 down"))
    yield edit("an escape sequence in the title", lambda d: inc(d).update(title="\x1b]0;pwned\x07\x1b[2J"))
    yield edit("a newline in the title", lambda d: inc(d).update(title="Fine\nINC-9999  SEV1 forged row"))
    yield edit("a 10,000-character title", lambda d: inc(d).update(title="x" * 10_000))
    yield edit("a 200 kB summary", lambda d: inc(d).update(summary="y" * 200_000))
    if big:
        yield edit("a 50 MB summary", lambda d: inc(d).update(summary="z" * 50_000_000))
    yield edit("schema_version '1' (a string)", lambda d: d.update(schema_version="1"))
    yield edit("schema_version 1.0", lambda d: d.update(schema_version=1.0))
    yield edit("schema_version missing", lambda d: d.pop("schema_version"))
    yield edit("schema_version 99", lambda d: d.update(schema_version=99))
    yield edit("schema_version 0", lambda d: d.update(schema_version=0))
    yield edit("format wrong", lambda d: d.update(format="something.else"))
    yield "cut short", json.dumps(good)[: len(json.dumps(good)) // 2]
    yield "empty", ""
    yield "not JSON", "incidents: yes\n"
    yield "binary", "\x00\x01\x02\xff" * 100
    yield "a list at the top", "[]"
    yield "a string at the top", '"sitrep"'
    yield edit("incidents not a list", lambda d: d.update(incidents={"a": 1}))
    yield edit("people not a list", lambda d: d.update(people="ana"))
    yield edit("an incident that is a number", lambda d: d["incidents"].append(7))
    for field in ("id", "key", "title", "severity", "status", "milestones", "timeline", "created_at", "number"):
        yield edit(f"incident without '{field}'", lambda d, f=field: inc(d).pop(f))
    for field, value in (("title", 5), ("severity", None), ("status", "exploded"), ("is_major", "yes"),
                         ("services", "checkout"), ("error_rate_pct", 250), ("number", -1), ("severity", "SEV9"),
                         ("created_at", "yesterday"), ("created_at", "2026-03-14 09:00")):  # fmt: skip
        yield edit(f"incident '{field}' = {value!r}", lambda d, f=field, v=value: inc(d).update({f: v}))
    yield edit("declared in year 999", lambda d: inc(d)["milestones"].update(declared="0999-06-01T00:00:00.000000Z"))
    yield edit("declared in year 1", lambda d: inc(d)["milestones"].update(declared="0001-01-01T00:00:00.000000Z"))
    yield edit("declared in year 9999", lambda d: inc(d)["milestones"].update(declared="9999-01-01T00:00:00.000000Z"))
    yield edit("milestones out of order", lambda d: inc(d)["milestones"].update(resolved="2000-01-01T00:00:00.000000Z"))
    yield edit("an entry's hash edited", lambda d: inc(d)["timeline"][1].update(hash="0" * 64))
    yield edit("an entry's body edited", lambda d: inc(d)["timeline"][1].update(body="Errors at 4%"))
    yield edit("the newest entry dropped", lambda d: inc(d)["timeline"].pop())
    yield edit("entries reordered", lambda d: inc(d)["timeline"].reverse())
    yield edit("an entry's data a list", lambda d: inc(d)["timeline"][1].update(data=[1, 2]))
    yield edit("an entry of unknown kind", lambda d: inc(d)["timeline"][1].update(kind="gossip"))
    yield edit("a 1 MB entry body", lambda d: inc(d)["timeline"][1].update(body="b" * 1_000_000))
    yield edit("the state edited by hand", lambda d: inc(d).update(severity="SEV1"))
    yield edit("chain_heads a string", lambda d: inc(d).update(chain_heads="head"))
    yield edit("chain_heads counting one more", lambda d: inc(d)["chain_heads"]["timeline"].update(count=99))
    yield edit("the same incident twice", lambda d: d["incidents"].append(copy.deepcopy(inc(d))))
    yield edit("a responder with a bad e-mail", lambda d: d["people"].append(
        {"id": "p1", "name": "Bo", "handle": "bo", "email": "not-an-email", "phone": None, "timezone": "UTC"}))
    yield edit("a responder handle twice", lambda d: d["people"].extend([
        {"id": "p1", "name": "Bo", "handle": "bo", "email": None, "phone": None, "timezone": "UTC"},
        {"id": "p2", "name": "Bo 2", "handle": "bo", "email": None, "phone": None, "timezone": "UTC"}]))


_CSV_HEAD = "title,severity,declared,resolved,affected_users\n"
_CSV_CASES = {
    "a good CSV (accepted)": _CSV_HEAD + "Search slow,SEV3,2026-02-15T22:31:00Z,2026-02-16T01:02:00Z,10\n",
    "declared 0001-01-01": _CSV_HEAD + "Old,SEV3,0001-01-01,,\n",
    "declared 0999-06-01": _CSV_HEAD + "Older,SEV3,0999-06-01T00:00Z,,\n",
    "declared in the future": _CSV_HEAD + "Future,SEV3,2999-01-01T00:00Z,,\n",
    "affected users 2**70": _CSV_HEAD + f"Huge,SEV3,2026-02-15T22:31:00Z,,{2**70}\n",
    "affected users -3": _CSV_HEAD + "Neg,SEV3,2026-02-15T22:31:00Z,,-3\n",
    "affected users 5,000 digits": _CSV_HEAD + "Digits,SEV3,2026-02-15T22:31:00Z,," + "9" * 5000 + "\n",
    "an escape sequence in a title": _CSV_HEAD + "\x1b[2JCleared,SEV3,2026-02-15T22:31:00Z,,\n",
    "a quoted newline in a title": _CSV_HEAD + '"Fine\nINC-9999 forged",SEV3,2026-02-15T22:31:00Z,,\n',
    "a 20,000-character title": _CSV_HEAD + "t" * 20_000 + ",SEV3,2026-02-15T22:31:00Z,,\n",
    "header only": _CSV_HEAD,
    "empty": "",
    "no title column": "severity,declared\nSEV3,2026-02-15T22:31:00Z\n",
    "a NUL byte": _CSV_HEAD + "Nul\x00led,SEV3,2026-02-15T22:31:00Z,,\n",
    "unknown severity": _CSV_HEAD + "Sev,SEV42,2026-02-15T22:31:00Z,,\n",
    "5,000 columns": ",".join(f"c{i}" for i in range(5000)) + "\n" + ",".join("x" for _ in range(5000)) + "\n",
}

_STATUSPAGE_CASES = {
    "nested 100,000 deep": "[" * 100_000 + "]" * 100_000,
    "a 5,000-digit number": '{"page": {"id": "p"}, "incidents": [], "n": 1' + "0" * 5000 + "}",
    "incidents not a list": '{"page": {"id": "p"}, "incidents": 5}',
    "an incident of wrong types": '{"page": {"id": "p"}, "incidents": [{"id": 5, "name": [], "created_at": 7}]}',
    "created in year 1": '{"page": {"id": "p", "name": "P"}, "incidents": [{"id": "i1", "name": "Old", '
                         '"impact": "minor", "created_at": "0001-01-01T00:00:00Z", "incident_updates": []}]}',
    "not JSON": "<html>",
}

_COMMAND_LINES: list[list[str]] = [
    ["declare", "Old", "-s", "SEV2", "--detected", "0999-06-01T00:00Z"],
    ["declare", "Ancient", "-s", "SEV2", "--declared", "0001-01-01T00:00Z"],
    ["declare", "Future", "-s", "SEV2", "--detected", "2999-01-01T00:00Z"],
    ["declare", "Huge", "-s", "SEV2", "--users", str(2**70)],
    ["declare", "Negative", "-s", "SEV2", "--users", "-1"],
    ["declare", "Digits", "-s", "SEV2", "--users", "9" * 5000],
    ["declare", "Rate", "-s", "SEV2", "--error-rate", "nan"],
    ["declare", "Rate", "-s", "SEV2", "--error-rate", "1e400"],
    ["declare", "Fine\nINC-9999  SEV1        Declared      forged row", "-s", "SEV3"],
    ["declare", "\x1b]0;pwned\x07\x1b[2Jcleared", "-s", "SEV3"],
    ["declare", "x" * 5000, "-s", "SEV3"],
    ["declare", "", "-s", "SEV3"],
    ["declare", "No level", "-s", "SEV9"],
    ["log", "INC-0001", "backdated far", "--at", "2000-01-01T00:00Z"],
    ["log", "INC-0001", "year 999", "--at", "0999-01-01T00:00Z"],
    ["log", "INC-0001", "b" * 30_000],
    ["log", "INC-0001", "\x1b[31mred\x1b[0m and a bell \x07"],
    ["log", "INC-0001", "/decision"],
    ["log", "INC-0001", "/nosuchprefix hello"],
    ["log", "INC-9999", "nowhere"],
    ["log", "INC-0001", "when?", "--at", "the day after tomorrow-ish"],
    ["status", "INC-0001", "exploded"],
    ["severity", "INC-0001", "SEV0"],
    ["milestone", "INC-0001", "detected", "0999-01-01T00:00Z"],
    ["milestone", "INC-0001", "nonsense", "now"],
    ["role", "assign", "INC-0001", "ic", "nobody"],
    ["show", "'; DROP TABLE incidents; --"],
    ["export", "-o", "/nonexistent/folder/out.json"],
    ["import", "/nonexistent/file.json"],
    ["verify", "INC-4242"],
    ["backup", "restore", "99"],
    ["update", "INC-0001", "--users", str(2**70)],
]


def _cases(good: dict, work: Path, big: bool) -> Iterator[Case]:
    files = work / "files"
    files.mkdir(parents=True, exist_ok=True)
    for n, (name, doc) in enumerate(_export_cases(good, big)):
        def make(_data, n=n, doc=doc):
            path = files / f"export-{n}.json"
            path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8", errors="surrogatepass")
            return ["import", str(path)]
        yield f"import: {name}", make
    for n, (name, text) in enumerate(_CSV_CASES.items()):
        def make(_data, n=n, text=text):
            path = files / f"history-{n}.csv"
            path.write_text(text, encoding="utf-8")
            return ["import-history", str(path), "--format", "csv"]
        yield f"import-history csv: {name}", make
    for n, (name, text) in enumerate(_STATUSPAGE_CASES.items()):
        def make(_data, n=n, text=text):
            path = files / f"statuspage-{n}.json"
            path.write_text(text, encoding="utf-8")
            return ["import-history", str(path), "--format", "statuspage"]
        yield f"import-history statuspage: {name}", make
    for argv in _COMMAND_LINES:
        yield "cli: " + " ".join(a[:40] for a in argv)[:90], lambda _data, argv=argv: list(argv)


def fuzz(size: Size, work: Path) -> Figure:
    fig = Figure("fuzz corpus")
    data = work / "data"
    good = _seed(data)
    accepted = 0
    for n, (name, make) in enumerate(_cases(good, work, big=size.fuzz_share == 1)):
        if n % size.fuzz_share:
            continue
        res = sitrep(data, *make(data), timeout=300)
        fig.runs += 1
        if internal_error(res):
            fig.internal_errors += 1
            fig.missed.append(f"{name}: internal error (rc {res.returncode}) {res.stderr.strip()[-200:]!r}")
        elif res.returncode == 0:
            accepted += 1
        elif clear_refusal(res):
            fig.refused_clearly += 1
        else:
            fig.missed.append(f"{name}: rc {res.returncode} without a message: {res.stderr.strip()[-200:]!r}")
        # After anything accepted (and now and then after a refusal: nothing half-written may be left), the
        # store must still be readable: the year-999 bug made every later `list` fail.
        if res.returncode != 0 and fig.runs % 10:
            continue
        for check in (["list"], ["show", "INC-0001"], ["export"]):
            after = sitrep(data, *check)
            if after.returncode != 0:
                fig.missed.append(f"after '{name}': `sitrep {' '.join(check)}` failed (rc {after.returncode}): "
                                  f"{after.stderr.strip()[-200:]}")  # fmt: skip
                break
    listed = sitrep(data, "list")
    shown = sitrep(data, "show", "INC-0001")
    count = len(json.loads(sitrep(data, "list", "--json").stdout or "[]"))
    rows = [line for line in listed.stdout.splitlines() if line.strip()]
    if len(rows) != count:
        fig.missed.append(f"`sitrep list` printed {len(rows)} lines for {count} incidents (a forged row?)")
    for what, res in (("list", listed), ("show", shown)):
        if any(ch in res.stdout for ch in "\x1b\x07\x00\x9b"):
            fig.missed.append(f"`sitrep {what}` passed a control character to the terminal")
    fig.notes.append(f"{accepted} accepted (the store still lists, shows and exports), {fig.refused_clearly} refused "
                     f"with a message; {count} incidents at the end, listed one per line")  # fmt: skip
    return fig
