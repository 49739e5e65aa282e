"""A station's copy of the files of its cases.

Storage: the bytes in the station's database, once per content (MaterialBlob, keyed by
SHA-256), and one MaterialFile row per case, material and content. The database rather
than a folder of files: a file and its row commit or roll back with the change that keeps
them (a refused upload leaves nothing; an upload at filing commits with the case), every
station already backs its database up, and PostgreSQL and SQLite take the same code.
Listings read the rows only, never the bytes; a file's bytes are checked against its
SHA-256 each time they are served (`read_file`), so a copy changed in the store after it
was kept verified is refused (409), never shown as the file.

A case's files travel with it (shared/materials_files/transfer.py); the case record
lists them (`files`: sha256, material, media type, size) from the moment it leaves the
station where they were uploaded, so the deciding station knows what must arrive.
"""
import datetime as dt
import hashlib
import logging

from sqlalchemy import func, select

from shared.db.models import MaterialBlob, MaterialFile, utcnow
from shared.exceptions import Conflict, InvalidInput, NotFound
from shared.materials_files import detection

log = logging.getLogger(__name__)

ONLINE_UPLOADER = "申请人（网上申请）"  # uploaded_by for the resident's own uploads through the portal


def sha256_of(content):
    return hashlib.sha256(content).hexdigest()


def _material_codes(case):
    return {m["code"]: m["name"] for m in case["item"]["materials"]}


def _case_snapshot(session, case_no, station):
    from shared.cases.store import CaseRepository
    case = CaseRepository(session, station).find(case_no)
    if case is None:
        raise NotFound(f"办件{case_no}不在本站")
    return case


def case_bytes(session, case_no):
    """The bytes of a case's files here (each content once)."""
    sizes = session.execute(select(MaterialFile.sha256, MaterialFile.size)
                            .where(MaterialFile.case_no == case_no).distinct()).all()
    return sum(size for _, size in sizes)


def store_upload(session, case_no, material, content, filename, uploaded_by, station, case=None, now=None):
    """Keep one uploaded file of material `material` of case `case_no` (in the caller's
    transaction; `case`: the case's snapshot if the caller has it). The type comes from
    the content (PDF, JPEG, PNG); 10 MB a file and 50 MB a case. A refusal (InvalidInput
    400, TooLarge 413, NotFound) names the file and the limit and stores nothing. The
    same content for the same material again is kept once. Returns the file's listing
    (`file_view`). Who may upload, and when, is the caller's to check."""
    case = case if case is not None else _case_snapshot(session, case_no, station)
    materials = _material_codes(case)
    if material not in materials:
        raise InvalidInput(f"“{material}”不是事项“{case['item']['name']}”的材料（可上传："
                           f"{'、'.join(f'{c} {n}' for c, n in materials.items())}），未保存",
                           {"material": ["not a material of this item"]})
    name = detection.clean_filename(filename)
    media_type = detection.detect(name, content)
    digest = sha256_of(content)
    known = session.scalar(select(MaterialFile).where(MaterialFile.case_no == case_no,
                                                      MaterialFile.material == material,
                                                      MaterialFile.sha256 == digest))
    if known is not None:
        return file_view(known)
    if not session.scalar(select(func.count()).select_from(MaterialFile)
                          .where(MaterialFile.case_no == case_no, MaterialFile.sha256 == digest)):
        detection.check_case_total(name, case_bytes(session, case_no), len(content))
    put_blob(session, digest, content)
    row = MaterialFile(case_no=case_no, material=material, sha256=digest, size=len(content), media_type=media_type,
                       filename=name, uploaded_by=uploaded_by[:100], uploaded_at=now or utcnow(), station=station,
                       received_from=None, verified_at=utcnow())
    session.add(row)
    session.flush()
    return file_view(row)


def put_blob(session, digest, content):
    """Keep the bytes once (a blob already here is left as it is: same hash, same bytes)."""
    if session.get(MaterialBlob, digest) is None:
        session.add(MaterialBlob(sha256=digest, size=len(content), content=content))


def file_view(row):
    return {"case_no": row.case_no, "material": row.material, "sha256": row.sha256, "size": row.size,
            "media_type": row.media_type, "filename": row.filename, "uploaded_by": row.uploaded_by,
            "uploaded_at": _iso(row.uploaded_at), "station": row.station, "received_from": row.received_from,
            "verified_at": _iso(row.verified_at)}


def _iso(moment):
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.isoformat()


def rows(session, case_no):
    return session.scalars(select(MaterialFile).where(MaterialFile.case_no == case_no)
                           .order_by(MaterialFile.material, MaterialFile.id)).all()


def list_files(session, case_no):
    """The files of a case here (no bytes), by material then upload order."""
    return [file_view(r) for r in rows(session, case_no)]


def read_file(session, case_no, digest):
    """(listing, bytes) of a file of case `case_no`; NotFound if the case has no such file here."""
    row = session.scalar(select(MaterialFile).where(MaterialFile.case_no == case_no, MaterialFile.sha256 == digest)
                         .order_by(MaterialFile.id).limit(1))
    blob = session.get(MaterialBlob, digest) if row is not None else None
    if blob is None:
        raise NotFound(f"办件{case_no}在本站没有这个文件（{digest[:12]}…）")
    if sha256_of(blob.content) != digest:  # kept verified; changed in the store since
        log.error("case %s: the stored file %s no longer matches its SHA-256; not shown", case_no, digest)
        raise Conflict(f"办件{case_no}的文件（{digest[:12]}…）在本站的存储已损坏，内容与其SHA-256不符，不予显示")
    return file_view(row), blob.content


def content_of(session, digest):
    blob = session.get(MaterialBlob, digest)
    return None if blob is None else blob.content


# -- what the case lists -------------------------------------------------------------------
def ref(entry):
    """A file as the case record lists it (contract: FileRefSchema)."""
    return {"sha256": entry["sha256"], "material": entry["material"], "media_type": entry["media_type"],
            "size": entry["size"]}


def manifest(session, case):
    """The files the case lists (its record's `files`, from the stations before this one)
    and the ones kept here, each (material, sha256) once, in a stable order."""
    listed = {(f["material"], f["sha256"]): ref(f) for f in case.get("files") or []}
    for row in rows(session, case["case_no"]):
        listed.setdefault((row.material, row.sha256), ref(file_view(row)))
    return [listed[key] for key in sorted(listed)]


def attach_manifest(session, case):
    """Set the case record's `files` to `manifest` (before the case is saved and sent on);
    a case with no files keeps no `files` key."""
    files = manifest(session, case)
    if files or "files" in case:
        case["files"] = files
    return files


def missing(session, case):
    """The files the case lists that have not arrived here verified: [(material, sha256)]."""
    here = set(session.execute(select(MaterialFile.material, MaterialFile.sha256)
                               .where(MaterialFile.case_no == case["case_no"])).all())
    return [(f["material"], f["sha256"]) for f in case.get("files") or []
            if (f["material"], f["sha256"]) not in here]


def describe_missing(case, absent):
    names = _material_codes(case)
    return "、".join(f"{names.get(material, material)}（{digest[:12]}…）" for material, digest in absent)
