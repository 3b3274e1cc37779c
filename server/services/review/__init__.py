"""The bureau's review, by concern: roll-ups rebuilt by the scheduler (``rollups``), periods
(``periods``), the dashboard read from the roll-ups (``dashboard``), and case lists read live
(``cases``). Who may see what is decided in server/scope.py."""
from ...scope import home_area, may_open_case, visible_area
from .cases import CASE_STATUSES, case_detail, cases, detail_of
from .dashboard import breadcrumbs, children, percentile, summary, workers
from .periods import EARLIEST, LATEST, local_today, parse_period
from .rollups import refresh, refreshed_at

__all__ = ["CASE_STATUSES", "EARLIEST", "LATEST", "breadcrumbs", "case_detail", "cases", "detail_of", "children", "home_area",
           "local_today", "may_open_case", "parse_period", "percentile", "refresh", "refreshed_at", "summary",
           "visible_area", "workers"]
