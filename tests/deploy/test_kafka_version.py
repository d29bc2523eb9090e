"""One Apache Kafka version everywhere it is named: the jars the demo and the suite run
(deploy/kafka/pom.xml), the compose file's image, and the Strimzi `Kafka` resource of both overlays."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import yaml

from tests.deploy.manifests import Manifest, of_kind
from tests.support.stack import PROJECT_ROOT

_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def pom_version(pom: Path = PROJECT_ROOT / "deploy/kafka/pom.xml") -> str:
    found = ElementTree.parse(pom).getroot().find("m:properties/m:kafka.version", _POM_NS)
    assert found is not None and found.text, "deploy/kafka/pom.xml names no kafka.version"
    return found.text.strip()


def compose_version(path: Path = PROJECT_ROOT / "deploy/compose/compose.yaml") -> str:
    image = yaml.safe_load(path.read_text())["services"]["kafka"]["image"]
    matched = re.fullmatch(r"apache/kafka:(\S+)", image)
    assert matched, f"the compose kafka service runs {image!r}, not apache/kafka:<version>"
    return matched.group(1)


def test_the_pom_pins_one_4x_release() -> None:
    assert re.fullmatch(r"4\.\d+\.\d+", pom_version())


def test_compose_runs_the_version_of_the_pom() -> None:
    assert compose_version() == pom_version()


def test_strimzi_runs_the_version_of_the_pom(rendered: dict[str, list[Manifest]]) -> None:
    for overlay, documents in rendered.items():
        (kafka,) = of_kind(documents, "Kafka")
        assert str(kafka["spec"]["kafka"].get("version")) == pom_version(), overlay
