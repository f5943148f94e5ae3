"""`auditor preflight`: can every target be reached, logged into and read?"""

from __future__ import annotations
