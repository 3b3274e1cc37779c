"""The database models; tables are created only by the migrations in ``migrations/``."""
from .accounts import ROLES, Device, Token, Worker, WorkerGrid
from .areas import LEVELS, Area
from .casework import COLOUR_RANK, Flag, FlagEvent, Visit
from .departments import DEPARTMENT_LEVELS, Department, Summons
from .linking import LinkState, MatchKey, MatchReview, MergeRecord
from .register import Household, Person
from .review import AreaClosure, ReviewClose, ReviewDay, ReviewFlagDay, ReviewOpen, ReviewSnapshot, ReviewState
from .webhooks import WebhookOutbox
from .syncing import AuditLog, ChangeLog, Conflict, GridClock, LinkCursor, ReviewCursor, SyncState

__all__ = ["ROLES", "LEVELS", "COLOUR_RANK", "Area", "Worker", "WorkerGrid", "Device", "Token", "Household", "Person",
           "Visit", "Flag", "FlagEvent", "ChangeLog", "Conflict", "SyncState", "AuditLog", "MatchKey", "MatchReview",
           "MergeRecord", "LinkState", "AreaClosure", "ReviewSnapshot", "ReviewOpen", "ReviewDay", "ReviewFlagDay",
           "ReviewClose", "ReviewState", "GridClock", "LinkCursor", "ReviewCursor", "DEPARTMENT_LEVELS", "Department",
           "Summons", "WebhookOutbox"]
