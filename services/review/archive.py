"""The incident archive: everything kept about one incident in one zip, with a manifest of sha256s,
and its verification on any machine (the files against the manifest, then the export imported into a
scratch store whose chains are verified)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from models.types import iso
from services.core import Sitrep
from services.errors import SitrepError, ValidationError
from services.review.report import ArchiveCheck, check_files, read_archive, sha256_bytes, write_archive

EXPORT = "export.json"


def build_archive(sitrep: Sitrep, ref: str, path: Path, *,
                  pdf_writer: Callable[[str, Path, str], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """The incident's export, the report (Markdown, HTML, PDF when a writer is given), the stakeholder
    log, the review's attachments, and the manifest."""
    inc = sitrep.incidents.get(ref)
    files: dict[str, bytes] = {
        EXPORT: json.dumps(sitrep.exchange.export([inc.key]), indent=2, sort_keys=True).encode("utf-8"),
    }
    log_rows = sitrep.comms.log(inc.key)
    files["stakeholder-log.csv"] = sitrep.comms.export_log(log_rows, "csv").encode("utf-8")
    review = sitrep.reviews.find(inc.key)
    if review is not None:
        files["review.md"] = sitrep.reviews.markdown(inc.key).encode("utf-8")
        page = sitrep.reviews.report_html(inc.key)
        files["review.html"] = page.encode("utf-8")
        if pdf_writer is not None:
            tmp = Path(path).with_name(Path(path).name + ".review.pdf")
            try:
                pdf_writer(page, tmp, f"Post-incident review {inc.key}")
                files["review.pdf"] = tmp.read_bytes()
            finally:
                tmp.unlink(missing_ok=True)
        folder = sitrep.reviews.attachments_dir
        for item in review.row.get("evidence") or []:
            if item.get("kind") != "file":
                continue
            source = folder / item["sha256"] if folder else None
            if source is None or not source.is_file():
                raise ValidationError(f"Attachment '{item['label']}' is missing from the data folder; "
                                      "`sitrep verify` says more.")  # fmt: skip
            files[f"attachments/{item['sha256']}/{Path(item['label']).name}"] = source.read_bytes()
    return write_archive(path, files, incident_key=inc.key, made_at=iso(sitrep.now()) or "")


def verify_archive(path: Path, scratch: Path) -> ArchiveCheck:
    """Every file against the manifest; every attachment against the sha256 it was kept by; the
    incident's chains, by importing the export into a fresh store in `scratch`."""
    manifest, files = read_archive(path)
    problems = check_files(manifest, files)
    for name, data in files.items():
        if name.startswith("attachments/"):
            digest = name.split("/")[1]
            if sha256_bytes(data) != digest:
                problems.append(f"{name}: its bytes no longer hash to the sha256 it was attached with")
    if EXPORT not in files:
        problems.append(f"{EXPORT} is missing: the record itself is not in the archive")
        return ArchiveCheck(False, len(files), problems, manifest.get("incident"))
    try:
        doc = json.loads(files[EXPORT])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problems.append(f"{EXPORT} is not JSON ({exc})")
        return ArchiveCheck(False, len(files), problems, manifest.get("incident"))
    fresh = Sitrep.open(f"sqlite:///{scratch / 'verify.db'}", backups_dir=scratch / "backups")
    try:
        try:
            fresh.exchange.import_document(doc, origin=str(path))
        except SitrepError as exc:
            problems.append(f"{EXPORT} does not import: {exc.message}")
        else:
            report = fresh.integrity.verify()
            problems += [f"chain: {b}" for b in report.breaks]
    finally:
        fresh.close()
    return ArchiveCheck(not problems, len(files), problems, manifest.get("incident"))


def unpack_archive(path: Path, folder: Path) -> str:
    """Make `folder` a data folder holding the archived incident (its export imported, its attachments
    kept by sha256), to open with `sitrep --data-dir FOLDER --read-only`. Refuses an archive that does
    not verify, and a folder that already holds a store."""
    folder = Path(folder)
    if (folder / "sitrep.db").exists():
        raise ValidationError(f"{folder} already holds a Sitrep store; unpack into an empty folder.")
    folder.mkdir(parents=True, exist_ok=True)
    check = verify_archive(path, folder)
    (folder / "verify.db").unlink(missing_ok=True)
    if not check.ok:
        raise ValidationError(f"{path} does not verify: {'; '.join(check.problems[:3])}")
    manifest, files = read_archive(path)
    store = Sitrep.open(f"sqlite:///{folder / 'sitrep.db'}", backups_dir=folder / "backups")
    try:
        store.exchange.import_document(json.loads(files[EXPORT]), origin=str(path))
    finally:
        store.close()
    for name, data in files.items():
        if name.startswith("attachments/"):
            target = folder / "attachments" / name.split("/")[1]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        elif name != EXPORT:
            (folder / "archive").mkdir(exist_ok=True)
            (folder / "archive" / name).write_bytes(data)
    return str(manifest.get("incident"))
