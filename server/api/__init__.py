"""The API: one blueprint per resource, registered from one list."""
from .areas.resources import blp as areas
from .auth.resources import blp as auth
from .config.resources import blp as config
from .conflicts.resources import blp as conflicts
from .flags.resources import blp as flags
from .households.resources import blp as households
from .matches.resources import blp as matches
from .persons.resources import blp as persons
from .review.resources import blp as review
from .sync.resources import blp as sync
from .visits.resources import blp as visits
from .webhook.resources import blp as webhook

BLUEPRINTS = [auth, sync, households, persons, visits, flags, conflicts, areas, config, matches, review, webhook]


def register_blueprints(api):
    for blp in BLUEPRINTS:
        api.register_blueprint(blp, url_prefix=f"/api/v1{blp.url_prefix}")
