"""一件事一次办 bundles over HTTP (issue 18).

Every station, from its own copy of the catalogue (public, as the items are):
    GET  /api/bundles?include_retired=1&tier=village   the bundles, by code
    GET  /api/bundles/<code>?yes=Q1,Q3                  one bundle: its items' details, the
                                                        merged materials, the days it saves
                                                        (for the questionnaire's yes answers)
The district, administrators only (each edit one new catalogue version, published to
every replica like an item's):
    POST /api/bundles                   add (201)
    PUT  /api/bundles/<code>            edit: the whole bundle, a new version
    POST /api/bundles/<code>/retire     retire
A bad bundle answers 400 naming every bad field (`details` by field); the catalogue
version is unchanged.
"""
from services.http import http, json_body, json_response
from shared.catalogue.bundles import BundleSchema
from shared.exceptions import InvalidInput
from shared.stations import TIERS


def _yes(request):
    text = request.args.get("yes")
    if text is None:
        return None
    return [code.strip() for code in text.split(",") if code.strip()]


class BundleEndpoints:
    """Mixed into every station's gateway (it has `catalogue`)."""

    @http("GET", "/api/bundles")
    def list_bundles(self, request):
        tier = request.args.get("tier")
        if tier is not None and tier not in TIERS:
            raise InvalidInput(f"query parameter 'tier' must be one of {', '.join(TIERS)}")
        found = self.catalogue.bundles(request.args.get("include_retired") in ("1", "true", "yes"), tier)
        return json_response({"total": len(found), "bundles": found})

    @http("GET", "/api/bundles/<string:code>")
    def show_bundle(self, request, code):
        try:
            return json_response(self.catalogue.bundle(code, _yes(request)))
        except ValueError as err:  # a question the bundle does not have
            raise InvalidInput(f"yes: {err}", details={"yes": [str(err)]}) from None


class BundleEditingEndpoints:
    """Mixed into the district's gateway (it has `catalogue_desk` and `_catalogue_change`)."""

    @http("POST", "/api/bundles")
    def add_bundle(self, request):
        with self._catalogue_change(request, "add_bundle") as editor:
            added = self.catalogue_desk.add_bundle(json_body(request), editor)
        return json_response(added, 201)

    @http("PUT", "/api/bundles/<string:code>")
    def edit_bundle(self, request, code):
        with self._catalogue_change(request, "edit_bundle") as editor:
            return json_response(self.catalogue_desk.edit_bundle(code, json_body(request), editor))

    @http("POST", "/api/bundles/<string:code>/retire")
    def retire_bundle(self, request, code):
        with self._catalogue_change(request, "retire_bundle") as editor:
            return json_response(self.catalogue_desk.retire_bundle(code, editor))


def bundle_paths(spec, op, path_param, query, public, is_district):
    """The bundles' paths for the OpenAPI document (services/gateway/openapi.py's helpers)."""
    spec.components.schema("Bundle", schema=BundleSchema)
    code = path_param("code", "bundle code, e.g. B001")
    paths = {
        "/api/bundles": {"get": op("the bundles (一件事) of this station's catalogue", tag="catalogue", access=public,
                                   params=[query("include_retired", "1: retired ones too"),
                                           query("tier", "only those a counter of this tier accepts", TIERS)])},
        "/api/bundles/{code}": {"get": op(
            "one bundle with its items' details, merged materials and the days it saves; yes=Q1,Q3: for "
            "the questionnaire's yes answers", tag="catalogue", access=public, errors=(400, 404),
            params=[code, query("yes", "question codes answered yes, comma-separated")])},
    }
    if is_district:
        paths["/api/bundles"]["post"] = op("add a bundle", ok="201", body_ref="Bundle", errors=(400,),
                                           tag="catalogue", access="administrators")
        paths["/api/bundles/{code}"]["put"] = op("edit a bundle (the whole bundle; a new version)", body_ref="Bundle",
                                                 params=[code], errors=(400, 404, 409), tag="catalogue",
                                                 access="administrators")
        paths["/api/bundles/{code}/retire"] = {"post": op("retire a bundle", params=[code], errors=(404, 409),
                                                          tag="catalogue", access="administrators")}
    return paths
