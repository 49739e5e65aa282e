"""What may be uploaded as a material: its type recognised from the content, and the limits.

The type is the `filetype` library's reading of the first bytes (its magic numbers), never
the file's name or the Content-Type a client claims: a text file named "x.pdf" is refused.
Refusals name the file and the limit in Chinese, and are raised before anything is stored.
"""
import filetype

from shared.exceptions import InvalidInput, TooLarge

MAX_FILE_BYTES = 10 * 1024 * 1024   # 10 MB a file
MAX_CASE_BYTES = 50 * 1024 * 1024   # 50 MB for all the files of a case
MEDIA_TYPES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
ALLOWED_NAMES = "、".join(MEDIA_TYPES.values())
MAX_FILENAME = 120


def megabytes(size):
    return f"{size / (1024 * 1024):.1f} MB"


def clean_filename(filename):
    """The name as shown beside the file (a path's last part, at most 120 characters);
    only for display: the type never comes from it."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].replace("\x00", "").strip()
    return name[:MAX_FILENAME] or "未命名文件"


def check_size(filename, size):
    if size > MAX_FILE_BYTES:
        raise TooLarge(f"文件“{clean_filename(filename)}”大小为{megabytes(size)}，超过单个文件{megabytes(MAX_FILE_BYTES)}"
                       f"的上限，未保存", {"file": [f"at most {MAX_FILE_BYTES} bytes"]})


def detect(filename, content):
    """The media type of `content` (one of MEDIA_TYPES), or InvalidInput / TooLarge
    naming the file and what is wrong."""
    name = clean_filename(filename)
    check_size(name, len(content))
    if not content:
        raise InvalidInput(f"文件“{name}”是空文件，未保存", {"file": ["empty"]})
    kind = filetype.guess(content)
    if kind is None or kind.mime not in MEDIA_TYPES:
        found = f"（识别为{kind.mime}）" if kind is not None else ""
        raise InvalidInput(f"文件“{name}”不是{ALLOWED_NAMES}文件{found}：只能上传{ALLOWED_NAMES}格式的材料"
                           f"（按文件内容识别，与文件名无关），未保存",
                           {"file": [f"content is not one of {', '.join(MEDIA_TYPES)}"]})
    return kind.mime


def check_case_total(filename, already, size):
    """`already` bytes of files at the case, `size` more would pass 50 MB: refused."""
    if already + size > MAX_CASE_BYTES:
        raise TooLarge(f"文件“{clean_filename(filename)}”（{megabytes(size)}）加上本办件已有的材料文件"
                       f"（{megabytes(already)}）超过每个办件{megabytes(MAX_CASE_BYTES)}的上限，未保存",
                       {"file": [f"a case's files total at most {MAX_CASE_BYTES} bytes"]})
