"""TLS certificates for a SuperLink and authentication keys for SuperNodes, with `cryptography`.

- A CA (self-signed) and the SuperLink's server certificate, signed by it, valid for the given
  host names and IP addresses (what the SuperNodes and the flwr CLI dial).
- One key pair per silo for Flower's SuperNode authentication: an elliptic-curve key on a NIST
  curve (Flower 1.42 refuses others), the private key in OpenSSH format (`flower-supernode
  --auth-supernode-private-key`), the public key in OpenSSH format (`flwr supernode register`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from simulator.errors import InputError
from simulator.names import file_in

CA_CERT = "ca.crt"
CA_KEY = "ca.key"
SERVER_CERT = "server.pem"
SERVER_KEY = "server.key"
SUPERNODE_KEYS_DIR = "supernodes"
# Flower's node authentication accepts NIST curves; P-384 is the one its documentation uses.
SUPERNODE_CURVE = ec.SECP384R1()
TLS_CURVE = ec.SECP256R1()
VALIDITY_DAYS = 365
NIST_CURVES = ("secp192r1", "secp224r1", "secp256r1", "secp384r1", "secp521r1")  # cryptography's names
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class SuperNodeKeys:
    silo: str
    private_key: Path
    public_key: Path


@dataclass(frozen=True)
class DeploymentCredentials:
    folder: Path
    ca_cert: Path
    server_cert: Path
    server_key: Path
    supernodes: tuple[SuperNodeKeys, ...]

    def keys_of(self, silo: str) -> SuperNodeKeys:
        for keys in self.supernodes:
            if keys.silo == silo:
                return keys
        known = ", ".join(keys.silo for keys in self.supernodes) or "none"
        raise InputError(f"certs folder '{self.folder}' has no SuperNode key for silo '{silo}' (has: {known})")


def generate_credentials(folder: Path, hosts: list[str] | tuple[str, ...], silos: list[str]) -> DeploymentCredentials:
    """Write a CA, the SuperLink's certificate for `hosts` and one key pair per silo into `folder`."""
    if not hosts:
        raise InputError("deploy certs: give at least one --host (the SuperLink's name or IP address)")
    for silo in silos:  # every name checked before anything is written
        file_in(folder / SUPERNODE_KEYS_DIR, silo)
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(TLS_CURVE)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "silocarbon deployment CA")])
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(TLS_CURVE)
    server_cert = (
        _builder(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]), ca_name, server_key.public_key(), now
        )
        .add_extension(x509.SubjectAlternativeName([_general_name(host) for host in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {name: folder / name for name in (CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY)}
    _write(paths[CA_CERT], ca_cert.public_bytes(serialization.Encoding.PEM))
    _write(paths[CA_KEY], _pem_private(ca_key), private=True)
    _write(paths[SERVER_CERT], server_cert.public_bytes(serialization.Encoding.PEM))
    _write(paths[SERVER_KEY], _pem_private(server_key), private=True)
    supernodes = tuple(write_supernode_keys(folder / SUPERNODE_KEYS_DIR, silo) for silo in silos)
    return DeploymentCredentials(folder, paths[CA_CERT], paths[SERVER_CERT], paths[SERVER_KEY], supernodes)


def write_supernode_keys(folder: Path, silo: str) -> SuperNodeKeys:
    # A silo name is data: it names a file in `folder` and nothing else (simulator/names.py).
    private_path, public_path = file_in(folder, silo, ".key"), file_in(folder, silo, ".pub")
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(SUPERNODE_CURVE)
    _write(
        private_path,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        ),
        private=True,
    )
    _write(
        public_path,
        key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
    )
    return SuperNodeKeys(silo, private_path, public_path)


def registration_public_key(keys: SuperNodeKeys) -> bytes:
    """The SuperNode's public key as `flwr supernode register` sends it to the SuperLink: PEM
    SubjectPublicKeyInfo of an elliptic-curve key on a NIST curve (InputError naming the file otherwise)."""
    try:
        public_key = serialization.load_ssh_public_key(keys.public_key.read_bytes())
    except (ValueError, OSError) as error:
        raise InputError(f"SuperNode key '{keys.public_key}' of silo '{keys.silo}' is unreadable ({error})") from None
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name not in NIST_CURVES:
        raise InputError(
            f"SuperNode key '{keys.public_key}' of silo '{keys.silo}' is not an elliptic-curve key on a NIST curve "
            f"({', '.join(NIST_CURVES)}), which Flower's node authentication needs"
        )
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def read_credentials(folder: Path, silos: list[str]) -> DeploymentCredentials:
    """The credentials `generate_credentials` wrote into `folder` (refused, naming the file, if incomplete)."""
    for name in (CA_CERT, SERVER_CERT, SERVER_KEY):
        if not (folder / name).is_file():
            raise InputError(f"key 'deployment.certs_dir': '{folder / name}' is missing (make it with `silocarbon deploy certs`)")
    supernodes = []
    for silo in silos:
        keys_dir = folder / SUPERNODE_KEYS_DIR
        keys = SuperNodeKeys(silo, file_in(keys_dir, silo, ".key"), file_in(keys_dir, silo, ".pub"))
        for path in (keys.private_key, keys.public_key):
            if not path.is_file():
                raise InputError(f"key 'deployment.certs_dir': '{path}' is missing (no SuperNode key for silo '{silo}')")
        supernodes.append(keys)
    return DeploymentCredentials(folder, folder / CA_CERT, folder / SERVER_CERT, folder / SERVER_KEY, tuple(supernodes))


def _builder(subject: x509.Name, issuer: x509.Name, public_key, now: dt.datetime) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))  # tolerate small clock differences
        .not_valid_after(now + dt.timedelta(days=VALIDITY_DAYS))
    )


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _pem_private(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    path.write_bytes(data)
    if private:
        os.chmod(path, 0o600)
