"""The catalogue at the counter: search, an item's guide and its printable
one-time notice of everything to bring (一次性告知书)."""
from services.http import http
from services.web_desk.base import DeskBase
from services.web_desk.rendering import page, render
from shared.auth import roles

PAGE_SIZE = 30


class CataloguePages(DeskBase):
    @http("GET", "/desk/items")
    @page
    def desk_items(self, request, user):
        text = request.args.get("q", "").strip()[:100]
        try:
            offset = max(int(request.args.get("offset", 0)), 0)
        except ValueError:
            offset = 0
        total, items = self.catalogue.search(text=text or None, limit=PAGE_SIZE, offset=offset)
        return render("items.html", **self.desk_context(user), q=text, total=total, items=items,
                      offset=offset, page_size=PAGE_SIZE, can_file=self._can_file)

    @http("GET", "/desk/items/<string:code>")
    @page
    def desk_item(self, request, user, code):
        return render("item.html", **self.desk_context(user), item=self.catalogue.get(code),
                      can_file=self._can_file)

    @http("GET", "/desk/items/<string:code>/print")
    @page
    def desk_item_print(self, request, user, code):
        return render("item_print.html", **self.desk_context(user), item=self.catalogue.get(code),
                      today=self.today())

    def _can_file(self, user, item):
        """Whether this user may file this item here (the filing form checks again)."""
        return (user["role"] in roles.COUNTER_ROLES and item["status"] == "current"
                and self.station.tier in item["accepting_tiers"])
