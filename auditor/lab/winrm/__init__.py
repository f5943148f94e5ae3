"""A loopback WinRM/PSRP endpoint (psrpcore's server side) answering the Lync cmdlets of a demo
estate, for the tests, `auditor lab lync` and benchmarks/lync.py. Needs the `lab` extra."""
