"""Rendering pages in the resident's language: Jinja2 with the i18n extension, the gettext
functions bound per render (never installed globally, so concurrent requests in different
languages cannot mix), the stylesheet inlined, and the labels of every enum value."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from fieldkit.app.config import Config
from fieldkit.core.records import Category, Status, Urgency
from fieldkit.errors import N_ as N_  # re-exported: the pages mark their msgids with it
from fieldkit.web.i18n import Language, choose_language

from .icons import ICONS

CATEGORY_LABELS: Mapping[Category, str] = {
    Category.WATER: N_("water"),
    Category.FOOD: N_("food"),
    Category.MEDICATION: N_("medication"),
    Category.MEDICAL_SUPPLIES: N_("medical supplies"),
    Category.HEALTHCARE: N_("healthcare"),
    Category.SHELTER: N_("shelter"),
    Category.POWER_FUEL: N_("power or fuel"),
    Category.TRANSPORT: N_("transport"),
    Category.CHILDCARE: N_("childcare"),
    Category.ELDER_DISABILITY_CARE: N_("elder or disability care"),
    Category.HYGIENE: N_("hygiene"),
    Category.CLOTHING_BEDDING: N_("clothing or bedding"),
    Category.REPAIR_CLEANUP: N_("repairs or cleanup"),
    Category.SKILLS: N_("skills"),
    Category.INFORMATION: N_("information"),
    Category.OTHER: N_("other"),
}
URGENCY_LABELS: Mapping[Urgency, str] = {
    Urgency.CRITICAL: N_("Urgent: life or safety at risk"),
    Urgency.TODAY: N_("Today"),
    Urgency.THIS_WEEK: N_("This week"),
    Urgency.FLEXIBLE: N_("Whenever"),
}
STATUS_LABELS: Mapping[Status, str] = {
    Status.OPEN: N_("Received"),
    Status.MATCHED: N_("Matched"),
    Status.FULFILLED: N_("Fulfilled"),
    Status.CANCELLED: N_("Cancelled"),
}
STATUS_NEXT: Mapping[Status, str] = {
    Status.OPEN: N_(
        "Volunteers at the hubs see it and look for a match. Check back here with your code."
    ),
    Status.MATCHED: N_("A match was found. Follow the message below."),
    Status.FULFILLED: N_("This request is done. We are glad it worked out."),
    Status.CANCELLED: N_("This request was cancelled. Nobody will act on it."),
}


def _read_css() -> str:
    return (resources.files("fieldkit.web") / "static" / "site.css").read_text("utf-8")


class Renderer:
    """Everything a page needs from the hub's configuration, shared by all requests."""

    def __init__(self, config: Config, languages: Mapping[str, Language]) -> None:
        self.config = config
        self.languages = languages
        self.areas = config.area_names()
        self.css = Markup(_read_css())
        self.env = Environment(
            loader=PackageLoader("fieldkit.web", "templates"),
            autoescape=select_autoescape(default=True),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.newstyle_gettext = True  # type: ignore[attr-defined]

    def language(self, request: Request, form: Mapping[str, str] | None = None) -> Language:
        explicit = (form or {}).get("lang") or request.query_params.get("lang")
        return choose_language(explicit, request.headers.get("accept-language", ""), self.languages)

    def area_name(self, area: str) -> str:
        return self.areas.get(area, area)

    def render(
        self,
        request: Request,
        lang: Language,
        template: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        def link(path: str, **params: str | int | None) -> str:
            query = {k: v for k, v in params.items() if v not in (None, "")}
            query["lang"] = lang.code
            return f"{path}?{urlencode(query)}"

        def switch(code: str) -> str:
            query = dict(request.query_params)
            query["lang"] = code
            path = request.url.path if request.method == "GET" else "/"
            return f"{path}?{urlencode(query)}"

        values: dict[str, Any] = {
            "hub_name": self.config.hub_name,
            "lang": lang,
            "languages": self.languages.values(),
            "css": self.css,
            "icons": ICONS,
            "link": link,
            "switch": switch,
            "area_name": self.area_name,
            "areas": self.areas,
            "category_labels": CATEGORY_LABELS,
            "urgency_labels": URGENCY_LABELS,
            "status_labels": STATUS_LABELS,
            "status_next": STATUS_NEXT,
            "error_text": lambda error: error.render(lang.gettext),
            "gettext": _newstyle(lang.gettext),
            "_": _newstyle(lang.gettext),
            "ngettext": _newstyle_plural(lang.ngettext),
            **context,
        }
        html = self.env.get_template(template).render(values)
        return HTMLResponse(html, status_code=status, headers=dict(headers or {}))


def _newstyle(translate: Callable[[str], str]) -> Callable[..., str]:
    @pass_context
    def gettext(context: Context, message: str, **variables: Any) -> str:
        text = translate(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    return gettext


def _newstyle_plural(translate: Callable[[str, str, int], str]) -> Callable[..., str]:
    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        text = translate(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    return ngettext
