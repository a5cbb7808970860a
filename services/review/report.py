"""The review as a finished report: HTML (and through ui/printing.py, PDF) from the same Markdown the
document is, the customer-facing summary drafted from the `post_incident_email` template, and the
incident archive (a zip with a manifest of sha256s) with its verification."""

from __future__ import annotations

import hashlib
import html
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.errors import ValidationError

_CSS = """
body { font-family: sans-serif; font-size: 10pt; color: #1b1b1f; }
h1 { font-size: 16pt; margin: 2px 0 8px 0; } h2 { font-size: 12.5pt; margin-top: 14px; border-bottom: 1px solid #999; }
table { border-collapse: collapse; margin: 4px 0 8px 0; width: 100%; }
th, td { border: 1px solid #aaa; padding: 3px 5px; vertical-align: top; text-align: left; }
th { background: #e8e8ee; }
.todo { color: #8a5a00; }
"""


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")
_ITALIC = re.compile(r"(?<![\w*])_(.+?)_(?![\w*])")


def _inline(text: str) -> str:
    out = html.escape(text)
    # Most cells (a timeline of thousands of rows) have no markup: skip the patterns for them.
    if "*" in out:
        out = _BOLD.sub(r"<b>\1</b>", out)
    if "`" in out:
        out = _CODE.sub(r"<code>\1</code>", out)
    if "_" in out:
        out = _ITALIC.sub(r"<i class='todo'>\1</i>", out)
    return out


def _cells(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [c.strip().replace("\\|", "|") for c in cells]


def markdown_to_html(md: str, title: str) -> str:
    """The subset of Markdown the review document is written in: headings, pipe tables, lists,
    paragraphs, bold, italics and code. HTML comments (the export's markers) are dropped."""
    md = re.sub(r"<!--.*?-->", "", md, flags=re.S)
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           f"<style>{_CSS}</style></head><body>"]  # fmt: skip
    lines = md.splitlines()
    i = 0
    para: list[str] = []

    def flush() -> None:
        if para:
            out.append("<p>" + "<br>".join(_inline(p) for p in para) + "</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        if not line.strip():
            flush()
            i += 1
            continue
        m = re.match(r"(#{1,3}) (.*)", line)
        if m:
            flush()
            n = len(m.group(1))
            out.append(f"<h{n}>{_inline(m.group(2))}</h{n}>")
            i += 1
            continue
        if line.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            header = _cells(rows[0])
            body = [_cells(r) for r in rows[2:]] if len(rows) > 1 and set(rows[1]) <= set("|-: ") else \
                [_cells(r) for r in rows[1:]]  # fmt: skip
            head = "".join(f"<th>{_inline(h)}</th>" for h in header) if any(header) else ""
            cells = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body)
            out.append(f"<table border='1' cellspacing='0' cellpadding='3' width='100%'>"
                       f"{'<tr>' + head + '</tr>' if head else ''}{cells}</table>")  # fmt: skip
            continue
        if re.match(r"\s*[-*] ", line):
            flush()
            items = []
            while i < len(lines) and re.match(r"\s*[-*] ", lines[i]):
                depth = "&nbsp;&nbsp;&nbsp;&nbsp;" if lines[i].startswith((" ", "\t")) else ""
                item = re.sub(r"^\s*[-*] ", "", lines[i])
                items.append(f"<li>{depth}{_inline(item)}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
            continue
        para.append(line)
        i += 1
    flush()
    out.append("</body></html>")
    return "\n".join(out)


# -- the archive ------------------------------------------------------------------------------------
MANIFEST = "manifest.json"
ARCHIVE_FORMAT = "sitrep.incident-archive"


@dataclass(frozen=True)
class ArchiveCheck:
    ok: bool
    files: int
    problems: list[str]
    incident: str | None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_archive(path: Path, files: dict[str, bytes], *, incident_key: str, made_at: str) -> dict[str, Any]:
    """A zip of `files` (name -> bytes) and a manifest naming each with its size and sha256."""
    manifest = {"format": ARCHIVE_FORMAT, "version": 1, "incident": incident_key, "made_at": made_at,
                "files": [{"name": n, "size": len(b), "sha256": sha256_bytes(b)} for n, b in sorted(files.items())]}  # fmt: skip
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for name, data in sorted(files.items()):
                z.writestr(name, data)
            z.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
        tmp.replace(path)
    except OSError as exc:
        raise ValidationError(f"Cannot write {path}: {exc.strerror}.") from None
    return manifest


def read_archive(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if MANIFEST not in names:
                raise ValidationError(f"{path} is not a Sitrep incident archive (it has no {MANIFEST}).")
            manifest = json.loads(z.read(MANIFEST))
            files = {n: z.read(n) for n in names if n != MANIFEST}
    except (OSError, zipfile.BadZipFile) as exc:
        raise ValidationError(f"{path} cannot be read as a zip archive ({exc}).") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path}: its manifest is not JSON ({exc.msg}).") from None
    if manifest.get("format") != ARCHIVE_FORMAT:
        raise ValidationError(f"{path} is not a Sitrep incident archive (format {manifest.get('format')!r}).")
    return manifest, files


def check_files(manifest: dict[str, Any], files: dict[str, bytes]) -> list[str]:
    problems = []
    listed = {f["name"]: f for f in manifest.get("files") or []}
    for name, meta in listed.items():
        if name not in files:
            problems.append(f"{name}: listed in the manifest but missing from the archive")
        elif sha256_bytes(files[name]) != meta.get("sha256"):
            problems.append(f"{name}: its bytes do not match the manifest's sha256")
    for name in sorted(set(files) - set(listed)):
        problems.append(f"{name}: in the archive but not in the manifest")
    return problems


def summary_fields(rec) -> dict[str, str]:
    """The `post_incident_email` template's own fields, drafted from the review (the comms lead edits)."""
    written = rec.review.get("sections") or {}
    lessons = str((written.get("lessons") or {}).get("text") or "").strip()
    summary = str((written.get("summary") or {}).get("text") or "").strip()
    learnings = "\n\n".join(t for t in (summary, lessons) if t) or "(to write: what we learned)"
    items = [a for a in rec.actions if a["status"] != "wont_do"]
    actions = "\n".join(f"- {a['title']} ({a['category']}, due {a.get('due_on') or 'tbd'})" for a in items)
    return {"learnings": learnings, "action_items": actions or "(to write: what we will do)"}
