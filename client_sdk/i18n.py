"""The tablet's words (stdlib gettext over client_sdk/locale/, domain ``fieldsync``): Chinese
(zh_CN) by default, English when ``--lang en`` or the environment (LANGUAGE, LC_ALL,
LC_MESSAGES, LANG) asks for it. Codes stay stable; only what a person reads is translated."""
import os

from sync import messages
from sync.messages import N_
from sync.words import Words

LOCALE_DIR = os.path.join(os.path.dirname(__file__), "locale")
DOMAIN = "fieldsync"

_words = Words(DOMAIN, LOCALE_DIR)
use, language, _, ngettext = _words.use, _words.language, _words.gettext, _words.ngettext


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
