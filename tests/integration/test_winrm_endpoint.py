"""The loopback WinRM endpoint answers a malformed WSMan request with a fault, not a hang-up."""

from __future__ import annotations

import requests

from tests.integration.lync_fixtures import CANARY_PASSWORD, CANARY_USER, running_lab

NO_HEADER = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
             b"<s:Body/></s:Envelope>")


def test_a_request_without_a_soap_header_gets_a_wsman_fault() -> None:
    with running_lab("healthy") as running:
        endpoint = running.endpoint
        answer = requests.post(f"https://127.0.0.1:{endpoint.port}/wsman", data=NO_HEADER,
                               auth=(CANARY_USER, CANARY_PASSWORD),
                               verify=str(endpoint.ca_cert), timeout=10,
                               headers={"Content-Type": "application/soap+xml;charset=UTF-8"})
    assert answer.status_code == 500
    assert b"no SOAP header" in answer.content
    assert b"WSManFault" in answer.content
