"""Uploaded materials' files (issue 16): a material of a case can be a scan or a photo
uploaded at the counter ("scan and upload" at filing) or through the online hall.

- `detection`: what may be uploaded: PDF, JPEG or PNG, recognised from the content (the
  `filetype` library), never from the name; 10 MB a file, 50 MB a case.
- `store`: the station's copy: bytes kept once per SHA-256 in the database
  (MaterialBlob), one MaterialFile row per case, material and content; `store_upload` is
  the one way a file enters a station (the API, the desk's filing form, the portal).
- `transfer`: the files travel with the case along its route through the outbox, one
  `case.file` message per file; the receiver keeps a file only once its hash is verified,
  and asks the sender again (`case.file_request`) when it is not.

Plain Python and SQLAlchemy; no nameko.
"""
