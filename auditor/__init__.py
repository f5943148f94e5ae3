"""auditor: backup and disaster-recovery audit of Lync Server 2013 deployments."""

__version__ = "0.1.0"
