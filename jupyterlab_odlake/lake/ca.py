"""The lake's own certificate authority: one CA per lake home, and a host certificate for each TLS endpoint.

Clients of the lake trust it through the lake's files only, never through the system's store:
``ca.pem`` (a CA bundle, for ``REQUESTS_CA_BUNDLE``, ``ssl.create_default_context(cafile=…)``,
``curl --cacert``) and ``certs/`` (an OpenSSL hashed directory, for ``X509_CERT_DIR`` and the
grid tools that read one). Layout, below the lake home::

    ca/                 readable: what clients need
      ca.pem            the CA certificate
      certs/<hash>.0    the same, under OpenSSL's subject hash
      hosts/<name>.pem  a host certificate (127.0.0.1 and localhost)
    ca/private/         owner-only (0700)
      ca.key            the CA's key (0600)
      <name>.key        a host's key (0600)

The CA is made once and kept; a host certificate is issued again when it is missing, is not
the CA's, or expires within a month.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import shutil
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .home import LakeError, LakeHome

CA_DAYS = 3650
HOST_DAYS = 365
RENEW_BEFORE = datetime.timedelta(days=30)
HOST_NAMES = ("localhost",)
HOST_ADDRESSES = ("127.0.0.1",)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class LakeCA:
    def __init__(self, home: LakeHome):
        self.folder = home.root / "ca"

    @property
    def bundle(self) -> Path:
        """The CA certificate, PEM: what a client trusts."""
        return self.folder / "ca.pem"

    @property
    def certdir(self) -> Path:
        """An OpenSSL hashed directory holding the CA certificate (``X509_CERT_DIR``)."""
        return self.folder / "certs"

    @property
    def private(self) -> Path:
        return self.folder / "private"

    @property
    def key(self) -> Path:
        return self.private / "ca.key"

    def host_cert(self, name: str) -> Path:
        return self.folder / "hosts" / f"{name}.pem"

    def host_key(self, name: str) -> Path:
        return self.private / f"{name}.key"

    def ensure(self) -> None:
        """Make the CA if there is none yet, and its hashed directory."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.private.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.private, 0o700)
        if not (self.key.exists() and self.bundle.exists()):
            self._make_ca()
        self._hash_dir()

    def _make_ca(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        # a name of its own, so that two lakes' CAs never share a subject (nor an OpenSSL hash)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "odlake demo lake"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"odlake demo lake CA {secrets.token_hex(4)}"),
            ]
        )
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write_key(self.key, key)
        _write_public(self.bundle, _pem(cert))
        # host certificates of an earlier CA are no longer trusted: issue them again
        shutil.rmtree(self.folder / "hosts", ignore_errors=True)

    def _hash_dir(self) -> None:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise LakeError("the lake's certificate authority needs 'openssl' (apt-get install openssl)")
        digest = subprocess.run(
            [openssl, "x509", "-noout", "-subject_hash", "-in", str(self.bundle)],
            capture_output=True,
            text=True,
            check=False,
        )
        if digest.returncode != 0:
            raise LakeError(f"openssl could not read the lake's CA certificate {self.bundle}: {digest.stderr.strip()}")
        self.certdir.mkdir(exist_ok=True)
        target = self.certdir / f"{digest.stdout.strip()}.0"
        pem = self.bundle.read_bytes()
        for stale in self.certdir.iterdir():
            if stale != target:
                stale.unlink()
        if not target.exists() or target.read_bytes() != pem:
            _write_public(target, pem)

    def issue_host(self, name: str) -> tuple[Path, Path]:
        """A host certificate and key for the TLS endpoint ``name`` (issued when missing, stale or expiring)."""
        self.ensure()
        cert_path, key_path = self.host_cert(name), self.host_key(name)
        ca_cert = x509.load_pem_x509_certificate(self.bundle.read_bytes())
        if cert_path.exists() and key_path.exists():
            current = x509.load_pem_x509_certificate(cert_path.read_bytes())
            if current.issuer == ca_cert.subject and current.not_valid_after_utc - RENEW_BEFORE > _now():
                return cert_path, key_path
        ca_key = serialization.load_pem_private_key(self.key.read_bytes(), password=None)
        if not isinstance(ca_key, rsa.RSAPrivateKey):
            raise LakeError(f"the lake's CA key {self.key} is not the RSA key the lake made; remove {self.folder}")
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = _now()
        alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in HOST_NAMES]
        alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in HOST_ADDRESSES]
        cert = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "odlake demo lake"),
                        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, name),
                        x509.NameAttribute(NameOID.COMMON_NAME, HOST_NAMES[0]),
                    ]
                )
            )
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(min(now + datetime.timedelta(days=HOST_DAYS), ca_cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=True,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write_key(key_path, key)
        cert_path.parent.mkdir(exist_ok=True)
        _write_public(cert_path, _pem(cert))
        return cert_path, key_path


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    """A private key, 0600 from its first byte, replaced whole."""
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    partial = path.with_name(path.name + ".part")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)
    partial.replace(path)


def _write_public(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    os.chmod(partial, 0o644)
    partial.replace(path)
