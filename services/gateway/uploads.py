"""Uploaded materials' HTTP API (issue 16): a counter scans and uploads a file of a case's
material; users who may see the case list its files and open them.

- `POST /api/cases/<case_no>/materials/<material>`: the file is the raw body, sent with
  Content-Type application/pdf, image/jpeg, image/png or application/octet-stream (the
  type kept is always the one read from the content), its name in `?filename=` (or the
  `X-Filename` header, percent-encoded). Not multipart: a page of another site can post a
  form without asking, but not these types (CORS preflight), so the API stays safe from
  forgery without a form token; the desk's filing form takes files as multipart under
  /desk/, where the form token guards it. 201 with the file's listing; 400 for a type
  that is not PDF, JPEG or PNG, 413 over 10 MB a file or 50 MB a case, nothing kept.
- `GET /api/cases/<case_no>/files`: the files kept here, and those the case lists that
  have not arrived here yet.
- `GET /api/cases/<case_no>/files/<sha256>`: the bytes, with their type,
  `Content-Disposition: inline` and `X-Content-Type-Options: nosniff`.
"""
import re
from urllib.parse import quote, unquote

from werkzeug.wrappers import Response

from services.http import http, json_response
from services.web_desk.rendering import page
from services.uploads import MaterialFilesProvider
from shared.exceptions import InvalidInput
from shared.materials_files import detection

# what the upload route takes as a raw body (services/http.py lets these through)
UPLOAD_CONTENT_TYPES = (*detection.MEDIA_TYPES, "application/octet-stream")
UPLOAD_PATH = re.compile(r"^/api/cases/[^/]+/materials/[^/]+$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def is_upload(request):
    """A raw file body for the upload route (services/http.py lets it past the JSON-only rule)."""
    return request.method == "POST" and UPLOAD_PATH.match(request.path) is not None \
        and request.mimetype in UPLOAD_CONTENT_TYPES


def read_upload(request):
    """(file name, bytes) of an upload request: refused before reading a body over 10 MB."""
    filename = unquote(request.args.get("filename") or request.headers.get("X-Filename") or "")
    if request.mimetype not in UPLOAD_CONTENT_TYPES:
        raise InvalidInput(f"上传文件请以原始内容发送，Content-Type 为 {'、'.join(UPLOAD_CONTENT_TYPES)} 之一"
                           f"（收到 {request.mimetype or '无'}），未保存")
    if request.content_length is not None:
        detection.check_size(filename, request.content_length)
    content = request.stream.read(detection.MAX_FILE_BYTES + 1)
    detection.check_size(filename, len(content) if len(content) <= detection.MAX_FILE_BYTES
                         else detection.MAX_FILE_BYTES + 1)
    return filename, content


class MaterialFileEndpoints:
    material_files = MaterialFilesProvider()

    @http("POST", "/api/cases/<string:case_no>/materials/<string:material>")
    def upload_material_file(self, request, case_no, material):
        user = self.users.user(request)
        with self.access_audit.change(user, "upload_material_file", case_no):
            filename, content = read_upload(request)
            kept = self.material_files.upload(case_no, material, content, filename, user)
        return json_response(kept, 201)

    @http("GET", "/api/cases/<string:case_no>/files")
    def list_material_files(self, request, case_no):
        return json_response(self.material_files.list(case_no, self.users.user(request)))

    @http("GET", "/api/cases/<string:case_no>/files/<string:sha256>")
    def material_file(self, request, case_no, sha256):
        if not SHA256.match(sha256):
            raise InvalidInput("sha256: 64 lowercase hexadecimal digits")
        view, content = self.material_files.content(case_no, sha256, self.users.user(request))
        return file_response(view, content)

    @http("GET", "/desk/cases/<string:case_no>/files/<string:sha256>")
    @page
    def desk_material_file(self, request, user, case_no, sha256):
        """The same bytes for the desk's case page (the desk's session cookie; the API
        takes only a bearer token): shown in an <img> or <iframe> of the page."""
        if not SHA256.match(sha256):
            raise InvalidInput("文件编号应为64位十六进制SHA-256")
        view, content = self.material_files.content(case_no, sha256, user)
        return file_response(view, content)


def file_response(view, content):
    """The file as the browser shows it in a page: its detected type, inline, never sniffed."""
    return Response(content, mimetype=view["media_type"], headers={
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(view['filename'])}",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        # shown inside the station's own pages (a PDF in an iframe), never framed elsewhere
        "X-Frame-Options": "SAMEORIGIN",
        "Content-Security-Policy": "frame-ancestors 'self'",
    })


def upload_paths(op, path_param):
    """The paths for the OpenAPI document (services/gateway/openapi.py's helpers)."""
    case_no = path_param("case_no", "the case number")
    counters = "counter staff of the station that filed or holds the case, before it is decided"
    readers = "users of this station who may see the case"
    upload = op("upload a file of one of the case's materials: the raw body (application/pdf, image/jpeg, "
                "image/png or application/octet-stream; the type kept is read from the content: PDF, JPEG or PNG), "
                "its name in ?filename=; 413 over 10 MB a file or 50 MB a case; nothing kept when refused",
                ok="201", errors=(400, 404, 409, 413), access=counters)
    upload["parameters"] = [case_no, path_param("material", "the item's material code, e.g. M01")]
    upload["requestBody"] = {"required": True, "content": {t: {"schema": {"type": "string", "format": "binary"}}
                                                           for t in UPLOAD_CONTENT_TYPES}}
    listing = op("the case's files kept here, and those it lists that have not arrived yet", errors=(404,),
                 access=readers)
    listing["parameters"] = [case_no]
    one = op("one file's bytes (its type, Content-Disposition: inline, X-Content-Type-Options: nosniff)",
             errors=(400, 404), access=readers)
    one["parameters"] = [case_no, {**path_param("sha256", "the file's SHA-256, hexadecimal"),
                                   "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}]
    one["responses"]["200"] = {"description": "the file", "content": {
        t: {"schema": {"type": "string", "format": "binary"}} for t in detection.MEDIA_TYPES}}
    return {"/api/cases/{case_no}/materials/{material}": {"post": upload},
            "/api/cases/{case_no}/files": {"get": listing},
            "/api/cases/{case_no}/files/{sha256}": {"get": one}}
