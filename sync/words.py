"""One language for what a command line says: stdlib gettext over a catalogue directory, Chinese
unless asked for English (an argument, else LANGUAGE, LC_ALL, LC_MESSAGES, LANG). The tablet's
``fieldsync`` (client_sdk/i18n.py) and the server's ``gridsync`` (server/cli_i18n.py) each hold
one; no request is involved, so no Flask-Babel."""
import gettext as _gettext
import os

ENV_KEYS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def pick(lang=None, environ=None):
    """``zh_CN`` or ``en``: the one asked for, else the environment's, else Chinese."""
    environ = os.environ if environ is None else environ
    wanted = lang or next((environ[k] for k in ENV_KEYS if environ.get(k)), "")
    wanted = wanted.split(":")[0].split(".")[0].replace("-", "_").lower()
    return "en" if wanted.startswith("en") else "zh_CN"


class Words:
    """The current language and its translation, chosen on first use."""

    def __init__(self, domain, locale_dir, catalogues=None):
        #: the catalogue directory of each language (Babel names zh_CN with its script on the server)
        self.domain, self.locale_dir = domain, locale_dir
        self.catalogues = catalogues or {"zh_CN": "zh_CN", "en": "en"}
        self.lang = self.translation = None

    def use(self, lang=None):
        """Switch to ``lang`` (as ``pick`` reads it); returns the language chosen."""
        self.lang = pick(lang)
        self.translation = _gettext.translation(self.domain, self.locale_dir,
                                                languages=[self.catalogues[self.lang]], fallback=True)
        return self.lang

    def language(self):
        if self.lang is None:
            self.use()
        return self.lang

    def gettext(self, text):
        if self.translation is None:
            self.use()
        return self.translation.gettext(text)

    def ngettext(self, one, many, n):
        if self.translation is None:
            self.use()
        return self.translation.ngettext(one, many, n)
