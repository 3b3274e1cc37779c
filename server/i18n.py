"""Words in the reader's language (Flask-Babel over gettext catalogues in server/translations/):
Chinese (zh_CN) unless the request asks for English by ``?lang=en`` or ``Accept-Language``.

Codes stay stable; only what a person reads is translated: the pages, the API's ``message``,
CSV headers and values. Times are shown in the city's zone (Asia/Shanghai by default).
"""
from babel import Locale
from flask import request
from flask_babel import Babel, get_locale, gettext

from sync import messages

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
