"""WS-Management SOAP for the lab listener: namespaces, reading a request, building a response.

Also the errors a request can end in: a WSMan fault (answered with a fault envelope) or a
dropped connection (no answer at all).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
import xml.etree.ElementTree as ET

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "wst": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "wsmanfault": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "pwsh": "http://schemas.microsoft.com/powershell",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

OPERATION_TIMEOUT_CODE = 2150858793
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
_TIMEOUT = re.compile(r"^PT(\d+(?:\.\d+)?)S$")


class DropConnectionError(Exception):
    """Close the client's connection without an answer."""


class FaultError(Exception):
    def __init__(self, code: int, reason: str, status: int = 500) -> None:
        super().__init__(reason)
        self.code, self.reason, self.status = code, reason, status


class FaultWithIdError(Exception):
    def __init__(self, fault: FaultError, message_id: str) -> None:
        super().__init__(fault.reason)
        self.fault, self.message_id = fault, message_id


def find_text(root: ET.Element, path: str) -> str:
    found = root.find(path, NS)
    return (found.text or "").strip() if found is not None else ""


def parse_timeout(value: str) -> float:
    match = _TIMEOUT.match(value)
    return float(match.group(1)) if match else 20.0


def decode_b64(text: str) -> bytes:
    try:
        return base64.b64decode(text)
    except binascii.Error as exc:
        raise FaultError(2150858817, f"bad base64: {exc}") from None


def response_envelope(action: str, relates_to: str, body: ET.Element | None) -> bytes:
    env = ET.Element(f"{{{NS['s']}}}Envelope")
    header = ET.SubElement(env, f"{{{NS['s']}}}Header")
    ET.SubElement(header, f"{{{NS['wsa']}}}Action").text = action
    ET.SubElement(header, f"{{{NS['wsa']}}}MessageID").text = f"uuid:{uuid.uuid4()}"
    ET.SubElement(header, f"{{{NS['wsa']}}}RelatesTo").text = relates_to
    body_el = ET.SubElement(env, f"{{{NS['s']}}}Body")
    if body is not None:
        body_el.append(body)
    return bytes(ET.tostring(env, encoding="utf-8", xml_declaration=True))


def fault_envelope(fault: FaultError, relates_to: str) -> bytes:
    env = ET.Element(f"{{{NS['s']}}}Envelope")
    header = ET.SubElement(env, f"{{{NS['s']}}}Header")
    ET.SubElement(header, f"{{{NS['wsa']}}}Action").text = (
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault")
    ET.SubElement(header, f"{{{NS['wsa']}}}RelatesTo").text = relates_to
    body = ET.SubElement(env, f"{{{NS['s']}}}Body")
    soap_fault = ET.SubElement(body, f"{{{NS['s']}}}Fault")
    code = ET.SubElement(soap_fault, f"{{{NS['s']}}}Code")
    ET.SubElement(code, f"{{{NS['s']}}}Value").text = "s:Receiver"
    reason = ET.SubElement(soap_fault, f"{{{NS['s']}}}Reason")
    ET.SubElement(reason, f"{{{NS['s']}}}Text").text = fault.reason
    detail = ET.SubElement(soap_fault, f"{{{NS['s']}}}Detail")
    wsman_fault = ET.SubElement(detail, f"{{{NS['wsmanfault']}}}WSManFault",
                                Code=str(fault.code), Machine="127.0.0.1")
    ET.SubElement(wsman_fault, f"{{{NS['wsmanfault']}}}Message").text = fault.reason
    return bytes(ET.tostring(env, encoding="utf-8", xml_declaration=True))
