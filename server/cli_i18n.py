"""The admin command line's words (``gridsync``): Chinese unless the environment (LANGUAGE,
LC_ALL, LC_MESSAGES, LANG) asks for English, from the pages' own catalogue (server/translations/,
stdlib gettext: no request, so no Flask-Babel). Click's own words (usage, errors) go through it
too, and so do the one-line helps of the commands Flask and Flask-Migrate bring.

Help texts are English message ids given as ``help=N_(...)``; ``speak(command)`` puts each in the
reader's language when the command line starts (the English kept, so it can be said again).
"""
import os

import click

from sync.messages import N_
from sync.words import Words

LOCALE_DIR = os.path.join(os.path.dirname(__file__), "translations")
#: Babel names zh_CN with its script (server/translations/zh_Hans_CN/)
_words = Words("messages", LOCALE_DIR, {"zh_CN": "zh_Hans_CN", "en": "en"})
language, _, ngettext = _words.language, _words.gettext, _words.ngettext
#: the commands spoken so far, said again when the language changes: (command, theirs)
_spoken = {}


def use(lang=None):
    """Say everything in ``lang`` (``zh_CN`` or ``en``; default: the environment's) from now on,
    the helps of the commands already spoken included; returns the language chosen."""
    chosen = _words.use(lang)
    for command, theirs, name in list(_spoken.values()):
        speak(command, theirs=theirs, name=name)
    return chosen


#: click's own words, which it looks up through each module's ``_``: listed so the catalogue
#: holds them, and handed to click by ``teach_click``
CLICK_WORDS = (N_("Usage:"), N_("Options"), N_("Commands"), N_("Positional arguments"),
               N_("Show this message and exit."), N_("Show the version and exit."), N_("Error: {message}"),
               N_("Missing argument"), N_("Missing option"), N_("Missing parameter"), N_("Missing command."),
               N_("No such command {name!r}."), N_("No such option {name!r}."),
               N_("Try '{command} {option}' for help."),
               N_("Invalid value for {param_hint}: {message}"), N_("Invalid value: {message}"),
               N_("Aborted!"), N_("default: {default}"), N_("env var: {var}"),
               N_("{value!r} is not a valid {number_type}."),
               N_("{name} {filename!r} does not exist."), N_("Could not open file {filename!r}: {message}"),
               N_("file"), N_("path"), N_("directory"), N_("Repeat for confirmation"),
               N_("Error: The two entered values do not match."), N_("Option {name!r} does not take a value."),
               N_("required"))


def _plurals():
    """Never called: click's words with a plural, listed for ``pybabel extract``."""
    ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}.", 1)
    ngettext("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})", 1)
    ngettext("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments.", 1)
    ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", 1)

#: the one-line helps of the commands gridsync does not define, and of Flask's own options
THEIR_HELP = {
    "run": N_("Run a development server."),
    "shell": N_("Run a Python shell in the application's context."),
    "routes": N_("Show the application's routes."),
    "db": N_("Migrate the database (Alembic, by Flask-Migrate)."),
    "limiter": N_("Look at and reset the rate limits (Flask-Limiter)."),
    "openapi": N_("Print or write the API's OpenAPI document."),
}
THEIR_OPTIONS = {
    "app": N_("The application to load, as module:name (default: server)."),
    "debug": N_("Set debug mode."),
    "env_file": N_("Load environment variables from this file (python-dotenv)."),
    "version": N_("Show the Flask version."),
}
GROUP_HELP = N_("gridsync: the household-visit server's administration. Each command's --help says more.")


def teach_click():
    """Make click say its words in this language too (it reads them from each module's ``_``)."""
    from click import core, decorators, exceptions, formatting, parser, termui, types
    for module in (core, decorators, exceptions, formatting, parser, termui, types):
        module._ = _
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext


#: what click shows for a value of each type, and for the options and subcommands of a command
TYPE_NAMES = {"text": N_("TEXT"), "integer": N_("INTEGER"), "path": N_("PATH"), "filename": N_("FILE"),
              "file": N_("FILE"), "float": N_("NUMBER"), "boolean": N_("BOOLEAN")}
OPTIONS_METAVAR = N_("[OPTIONS]")
SUBCOMMAND_METAVAR = N_("COMMAND [ARGS]...")
#: the arguments gridsync's commands take, by name
ARGUMENTS = {"username": N_("USERNAME"), "code": N_("CODE"), "name": N_("NAME"), "csv_file": N_("CSV_FILE"),
             "device_id": N_("DEVICE_ID"), "input_csv": N_("INPUT_CSV"), "output_csv": N_("OUTPUT_CSV")}


def _said(obj, attr, table=None, key=None):
    english = obj.__dict__.setdefault("_english_" + attr, getattr(obj, attr, None))
    if table is not None and key in table:
        english = table[key]
    if english:
        setattr(obj, attr, _(english))


def speak(command, *, theirs=False, name=None):
    """``command``'s help and its options' helps in the reader's language. ``theirs``: a command
    gridsync does not define, whose one-line help comes from THEIR_HELP (by ``name``, the name it
    is registered under)."""
    name = name or command.name
    _spoken[id(command)] = (command, theirs, name)
    if theirs:
        command.__dict__.setdefault("_english_short_help", command.short_help)
        command.short_help = _(THEIR_HELP[name]) if name in THEIR_HELP else command.short_help
        return command
    _said(command, "help")
    _said(command, "short_help")
    if language() != "en" and command.help and not command.__dict__["_english_short_help"]:
        # click cuts a short help at a space, and Chinese has none: its first sentence, whole
        command.short_help = command.help.split("。")[0].split("：")[0] + "。"
    elif not command.__dict__["_english_short_help"]:
        command.short_help = None
    command.options_metavar = _(OPTIONS_METAVAR)
    # click makes --help's option once, in the language of the time: made again in this one
    command._help_option = None
    if isinstance(command, click.Group):
        command.subcommand_metavar = _(SUBCOMMAND_METAVAR)
    for param in command.params:
        if isinstance(param, click.Option):
            _said(param, "help", THEIR_OPTIONS, param.name)
        english = param.__dict__.setdefault("_english_metavar", param.metavar)
        if english is not None:
            continue
        if isinstance(param, click.Argument) and param.name in ARGUMENTS:
            param.metavar = _(ARGUMENTS[param.name])
        elif isinstance(param, click.Option) and not param.is_flag and param.type.name in TYPE_NAMES:
            param.metavar = _(TYPE_NAMES[param.type.name])
    return command
