"""Words in the reader's language (Flask-Babel over gettext catalogues in server/translations/):
Chinese (zh_CN) unless the request asks for English by ``?lang=en`` or ``Accept-Language``.

Codes stay stable; only what a person reads is translated: the pages, the API's ``message``,
CSV headers and values. Times are shown in the city's zone (Asia/Shanghai by default).
"""
import re

from babel import Locale
from flask import request
from flask_babel import Babel, get_locale, gettext

from sync import messages
from sync.messages import N_

#: the languages there are catalogues for; the first is the default
LANGUAGES = ("zh_CN", "en")
babel = Babel()


def _locale(lang):
    # Babel names zh_CN with its script, zh_Hans_CN, and finds the catalogue by that name
    # (server/translations/zh_Hans_CN/).
    return Locale.parse(lang)


def select_locale():
    wanted = request.args.get("lang", "")
    if wanted:
        wanted = wanted.replace("-", "_").lower()
        for lang in LANGUAGES:
            if wanted in (lang.lower(), lang.split("_")[0]):
                return _locale(lang)
    best = request.accept_languages.best_match(["zh", "zh_CN", "en"])
    return _locale("en" if best and best.startswith("en") else LANGUAGES[0])


def init_app(app):
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LANGUAGES[0])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config.get("CITY_TIMEZONE", "Asia/Shanghai"))
    babel.init_app(app, locale_selector=select_locale)


def english():
    locale = get_locale()
    return locale is None or locale.language == "en"


def api_message(code, field=None, params=None, detail=None):
    """``(message, detail)`` for an error: the words for ``code`` in the reader's language, and
    the developer's English ``detail`` when the message is not already that."""
    if english() and detail:
        return detail, None
    said = messages.message(code, field, params, gettext)
    if said is None:
        return detail or code, None
    return said, (detail if detail and detail != said else None)


def reason_words(reason):
    """A server event's reason in the reader's language and the city's local time, or None."""
    import datetime as dt

    from flask import current_app
    offset = dt.timedelta(hours=current_app.config["REVIEW_UTC_OFFSET_HOURS"])
    return messages.reason_text(reason, gettext, offset)


#: the words marshmallow and webargs answer a bad field with, as message ids: a REST error's
#: ``errors`` map reads in the reader's language like its ``message``
_FIELD_MESSAGES = {
    "Missing data for required field.": N_("required: this field is missing"),
    "Unknown field.": N_("not a field of this request"),
    "Field may not be null.": N_("may not be empty (null)"),
    "Not a valid string.": N_("must be text"),
    "Not a valid integer.": N_("must be a whole number"),
    "Not a valid number.": N_("must be a number"),
    "Not a valid boolean.": N_("must be true or false"),
    "Not a valid UUID.": N_("must be an id: 32 hexadecimal digits"),
    "Not a valid date.": N_("must be a date, e.g. 2024-05-01"),
    "Not a valid datetime.": N_("must be a time with its zone, e.g. 2024-05-01T10:00:00+08:00"),
    "Not a valid aware datetime.": N_("must be a time with its zone, e.g. 2024-05-01T10:00:00+08:00"),
    "Not a valid mapping type.": N_("must be an object"),
    "Not a valid list.": N_("must be a list"),
    "Invalid input type.": N_("this value has the wrong type"),
    "Invalid value.": N_("this value cannot be used"),
}
_FIELD_PATTERNS = (
    (re.compile(r"^(?:Longer than maximum length|Length must be between \d+ and) (\d+)\.$"),
     N_("at most %(n)s characters")),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), N_("at least %(n)s characters")),
    (re.compile(r"^Must be greater than or equal to (-?\d+) and less than or equal to (-?\d+)\.$"),
     N_("must be from %(n)s to %(m)s")),
    (re.compile(r"^Must be one of: (.*)\.$"), N_("must be one of: %(n)s")),
)


def field_messages(texts):
    """A field's error messages in the reader's language: the words for each message the
    validators use; one this table does not know says the value cannot be used (the English
    stays in the response's ``detail``)."""
    if english():
        return texts
    out = []
    for text in texts:
        if not isinstance(text, str):
            out.append(text)
            continue
        said = _FIELD_MESSAGES.get(text)
        if said is not None:
            out.append(gettext(said))
            continue
        for pattern, words in _FIELD_PATTERNS:
            m = pattern.match(text)
            if m:
                groups = m.groups()
                out.append(gettext(words) % {"n": groups[0], "m": groups[-1]})
                break
        else:
            out.append(gettext(N_("this value cannot be used")))
    return out
