"""JSON through orjson: pushes and pulls encode thousands of small documents per second, and
the standard library encoder was the largest single cost of a push."""
import orjson
from flask.json.provider import JSONProvider
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request


def dumps(obj):
    return orjson.dumps(obj).decode("utf-8")


loads = orjson.loads


class OrjsonProvider(JSONProvider):
    def dumps(self, obj, **kwargs):
        return dumps(obj)

    def loads(self, s, **kwargs):
        return orjson.loads(s)


class OrjsonFlaskParser(FlaskParser):
    """webargs parses request bodies with the standard library; a 500-change push is ~0.5 MB."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return missing
        return orjson.loads(req.get_data(cache=True))
