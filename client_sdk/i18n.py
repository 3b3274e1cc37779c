"""The tablet's words (stdlib gettext over client_sdk/locale/, domain ``fieldsync``): Chinese
(zh_CN) by default, English when ``--lang en`` or the environment (LANGUAGE, LC_ALL,
LC_MESSAGES, LANG) asks for it. Codes stay stable; only what a person reads is translated."""
import gettext as _gettext
import os

from sync import messages
from sync.messages import N_

LOCALE_DIR = os.path.join(os.path.dirname(__file__), "locale")
DOMAIN = "fieldsync"
LANGUAGES = ("zh_CN", "en")

_current = {"lang": None, "translation": None}


def pick(lang=None, environ=None):
    """``zh_CN`` or ``en``: the one asked for, else the environment's, else Chinese."""
    environ = os.environ if environ is None else environ
    wanted = lang or next((environ[k] for k in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG") if environ.get(k)), "")
    wanted = wanted.split(":")[0].split(".")[0].replace("-", "_").lower()
    return "en" if wanted.startswith("en") else LANGUAGES[0]


def use(lang=None):
    """Switch the words to ``lang`` (as ``pick`` reads it); returns the language chosen."""
    chosen = pick(lang)
    _current["lang"] = chosen
    _current["translation"] = _gettext.translation(DOMAIN, LOCALE_DIR, languages=[chosen], fallback=True)
    return chosen


def language():
    if _current["lang"] is None:
        use()
    return _current["lang"]


def _(text):
    if _current["translation"] is None:
        use()
    return _current["translation"].gettext(text)


def ngettext(one, many, n):
    if _current["translation"] is None:
        use()
    return _current["translation"].ngettext(one, many, n)


def accept_language():
    """What the transport tells the server, so its messages come in the same language."""
    return "en" if language() == "en" else "zh-CN"


def describe(exc):
    """What a person reads for an error with a ``code``: the words for its code (naming the
    field), else the message it came with (the server's, already in this language)."""
    code = getattr(exc, "code", None)
    if language() == "en" and getattr(exc, "message", None):
        return exc.message
    said = messages.message(code, getattr(exc, "field", None), getattr(exc, "params", None), _)
    return said or getattr(exc, "message", str(exc))


def name(table, code):
    return messages.name(table, code, _)


#: argparse's own words (usage, errors), which it looks up through its module's ``_``: listed so
#: the catalogue holds them, and handed to argparse by ``teach_argparse``
ARGPARSE_WORDS = (N_("usage: "), N_("positional arguments"), N_("options"), N_("show this help message and exit"),
                  N_("the following arguments are required: %s"),
                  N_("invalid choice: %(value)r (choose from %(choices)s)"), N_("%(prog)s: error: %(message)s\n"),
                  N_("unrecognized arguments: %s"), N_("expected one argument"),
                  N_("argument %(argument_name)s: %(message)s"), N_("invalid %(type)s value: %(value)r"))


def teach_argparse():
    """Make argparse say its words in this language too (it reads them from ``argparse._``)."""
    import argparse
    argparse._ = _
    argparse.ngettext = ngettext
