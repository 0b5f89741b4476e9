"""Whether the process holding an import run is still there, and the lock that keeps two
imports out of one unit (a billing source; the job history).

A killed import writes nothing (its facts are in one transaction), but its run row says
"running" until something sees that its process is gone:

- PostgreSQL: the import holds a session-level advisory lock keyed on its unit from the
  start of its run to its end. The server drops the lock when the session dies, so a
  running run whose unit's lock nobody holds (pg_locks) is dead, on any host.
- SQLite (one machine by nature): a running run is dead when it was started on this host
  and its process is gone, or the pid now belongs to a process started after the run (a
  reused pid: the start time comes from /proc, so this part is Linux only).

Nothing here knows the models: cost.models.billing.Run uses it.
"""

import datetime
import os
import socket
from pathlib import Path

from django.db import connection

# First half of the advisory lock key: "QD" and the unit's kind, to keep clear of other
# applications' locks on a shared server. The second half is the unit's id.
BILLING_SOURCE = 0x5144_0001
JOB_HISTORY = 0x5144_0002

Key = tuple[int, int]

# The keys this process's connection holds, so releasing twice (or after a failed start)
# asks the server nothing.
_held: set[Key] = set()


class Busy(Exception):
    """Another import holds the unit; nothing was written. The message names it."""


def key(kind: int, unit_id: int) -> Key:
    # pg_try_advisory_lock(int4, int4): ids past 2**31 share a key with a smaller one,
    # which only makes two sources wait for each other.
    return kind, unit_id % 2**31


def this_host() -> str:
    return socket.gethostname()[:255]


def uses_advisory_locks() -> bool:
    return connection.vendor == "postgresql"


def try_lock(held: Key) -> bool:
    """Take `held` for this session, or False at once if another session has it."""
    if held in _held:
        return False  # session locks stack: a second import in this process must wait too
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", list(held))
        (taken,) = cursor.fetchone()
    if taken:
        _held.add(held)
    return bool(taken)


def release(held: Key) -> None:
    """Give `held` back if this process took it; a no-op otherwise (SQLite included)."""
    if held not in _held:
        return
    _held.discard(held)
    if connection.connection is None:
        return  # the session is gone, and its locks with it
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", list(held))


def is_locked(held: Key) -> bool:
    """Whether any session of this database holds `held` (this one included)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid = %s AND objid = %s AND objsubid = 2)",
            list(held),
        )
        (locked,) = cursor.fetchone()
    return bool(locked)


def _process_started(pid: int) -> datetime.datetime | None:
    """When process `pid` started (Linux /proc), None where that cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        ticks = int(fields[19])  # field 22, starttime: clock ticks after boot
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    seconds = boot + ticks / os.sysconf("SC_CLK_TCK")
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


def process_gone(*, pid: int | None, host: str, since: datetime.datetime) -> bool:
    """Whether the process that started a run at `since` has surely ended. Unknown (no
    pid recorded, another host) counts as alive: only the holder's end is ever reaped."""
    if pid is None or host != this_host():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, someone else's
    started = _process_started(pid)
    # /proc's start time is in clock ticks (10 ms); a run row is made after its process
    # starts, so a process that began after the run cannot be the one that made it.
    return started is not None and started > since + datetime.timedelta(seconds=1)
