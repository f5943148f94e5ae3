"""The kill tests' hook: a process SIGKILLs itself on reaching the fixed point named in
AUDITOR_TEST_KILL_AT, so a test can stop it exactly there and inspect what is on disk.

Points: the output folder's steps (staging, evidence, files, manifest, moved-old, swapped, done:
tests/unit/test_outfolder.py), `history-audit-row` (tests/unit/test_history.py), and
remediation's `remediate-<journal event>[-<action kind>]`, `remediate-ran-<action kind>` and
`remediate-record` (tests/integration/test_remediate_kill.py, test_remediate_restore.py,
test_remediate_export.py). Unset, it does nothing.
"""

from __future__ import annotations

import os
import signal

KILL_AT = "AUDITOR_TEST_KILL_AT"


def checkpoint(step: str) -> None:
    """SIGKILL this process when AUDITOR_TEST_KILL_AT names `step`; otherwise nothing."""
    if os.environ.get(KILL_AT) == step:
        os.kill(os.getpid(), signal.SIGKILL)
