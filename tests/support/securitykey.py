"""A software security key for the server-side tests: it answers registration and sign-in
options as a FIDO2 authenticator would (attestation "none", ES256), so that the server's
checks run on real signatures. Browser tests use Chromium's own virtual authenticator.

`clone()` copies the key with its counter, as someone who extracted it would; `origin`,
`rp_id` and `counter` can be set wrong on purpose.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.encode_cbor import encode_cbor

UP, UV, AT = 0x01, 0x04, 0x40  # authenticator data flags: user present, verified, attested


@dataclass
class SoftKey:
    origin: str = "http://localhost:8000"
    rp_id: str = "localhost"
    counter: int = 0
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @property
    def id(self) -> str:
        return bytes_to_base64url(self.credential_id)

    def clone(self) -> SoftKey:
        return copy.copy(self)

    def _cose_key(self) -> bytes:
        numbers = self.private_key.public_key().public_numbers()
        return encode_cbor({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})

    def _client_data(self, kind: str, options: dict[str, Any]) -> bytes:
        return json.dumps({"type": kind, "challenge": options["challenge"],
                           "origin": self.origin, "crossOrigin": False}).encode()

    def _auth_data(self, flags: int, attested: bytes = b"") -> bytes:
        rp_hash = hashlib.sha256(self.rp_id.encode()).digest()
        return rp_hash + bytes([flags]) + struct.pack(">I", self.counter) + attested

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        """The answer to navigator.credentials.create(options) (options as the server sent
        them, base64url)."""
        attested = (b"\0" * 16 + struct.pack(">H", len(self.credential_id))
                    + self.credential_id + self._cose_key())
        auth_data = self._auth_data(UP | UV | AT, attested)
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": self.id, "rawId": self.id, "type": "public-key",
                "response": {"clientDataJSON": bytes_to_base64url(
                    self._client_data("webauthn.create", options)),
                    "attestationObject": bytes_to_base64url(attestation),
                    "transports": ["usb"]},
                "clientExtensionResults": {}}

    def get(self, options: dict[str, Any]) -> dict[str, Any]:
        """The answer to navigator.credentials.get(options); each use moves the counter on."""
        self.counter += 1
        client_data = self._client_data("webauthn.get", options)
        auth_data = self._auth_data(UP | UV)
        signature = self.private_key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                          ec.ECDSA(hashes.SHA256()))
        return {"id": self.id, "rawId": self.id, "type": "public-key",
                "response": {"clientDataJSON": bytes_to_base64url(client_data),
                             "authenticatorData": bytes_to_base64url(auth_data),
                             "signature": bytes_to_base64url(signature)},
                "clientExtensionResults": {}}


def register_key(client: Any, key: SoftKey, name: str = "Blue key") -> int:
    """Register `key` for the signed-in user of a test client, as the factor page's script
    does; returns the new key's id."""
    def post(path: str, body: dict[str, Any]) -> Any:
        page = client.get("/account/factor").text
        csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        return client.post(path, json=body, headers={"X-CSRF-Token": csrf,
                                                     "Accept": "application/json"})

    options = post("/account/factor/keys/options", {})
    assert options.status_code == 200, options.text
    added = post("/account/factor/keys", {"name": name, "credential": key.create(options.json())})
    assert added.status_code == 201, added.text
    return added.json()["id"]
