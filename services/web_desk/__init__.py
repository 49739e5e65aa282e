"""The web desk (办事窗口网页): server-rendered pages in Simplified Chinese under /desk/,
served by every station's gateway over the same case desk and catalogue as the API."""
from services.web_desk.pages import WebDeskPages

__all__ = ["WebDeskPages"]
