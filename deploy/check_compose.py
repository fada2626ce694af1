#!/usr/bin/python3
"""Checks a Compose file against the Compose Specification's schema
(deploy/compose-spec/) and prints one service's environment as JSON, with
${VAR:-default} and ${VAR:?message} filled from the given variables, so
that the caller can check the settings are ones the service accepts.

    check_compose.py COMPOSE_FILE SERVICE [NAME=VALUE ...]
"""

import json
import re
import sys
from pathlib import Path

import jsonschema
import yaml

SCHEMA = Path(__file__).parent / "compose-spec" / "compose-spec.json"
REFERENCE = re.compile(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}")


def interpolate(text, variables):
    def value(match):
        name, kind, rest = match.groups()
        if name in variables:
            return variables[name]
        if kind == ":-":
            return rest
        raise SystemExit(f"{name} is required: {rest or 'unset'}")

    return REFERENCE.sub(value, text)


def main():
    compose_file, service = sys.argv[1], sys.argv[2]
    variables = dict(arg.split("=", 1) for arg in sys.argv[3:])
    document = yaml.safe_load(Path(compose_file).read_text())
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(document, schema)
    environment = document["services"][service].get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    print(json.dumps({k: interpolate(str(v), variables) for k, v in environment.items()}))


if __name__ == "__main__":
    main()
