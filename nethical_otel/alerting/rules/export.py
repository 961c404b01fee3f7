"""``nethical-otel rules export --format prometheus``: the rule table as a Prometheus rule file and its
promtool tests, with the thresholds (and window or ``for`` overrides) of a configuration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nethical_otel.alerting.rules.promql import rule_groups
from nethical_otel.alerting.rules.promtool import tests_document
from nethical_otel.alerting.rules.spec import RuleSpec
from nethical_otel.alerting.rules.table import RULES
from nethical_otel.config import AlertRulesConfig

COMMAND = "nethical-otel rules export --format prometheus --output collector/alert-rules.yml"
_RULES_HEADER = f"""\
# Prometheus alerting rules for nethical_otel, generated from the SDK's rule table
# (nethical_otel/alerting/rules/table.py) by:
#   {COMMAND}
# Do not edit: change the table, or the thresholds in the configuration, and export again
# (`--config FILE` exports with a configuration's values). The SDK evaluates the same rules in-process
# (alerting.rules); in fleet mode it leaves them to Prometheus (docs/scaling.md).
#
# Values are taken per detector_type (or cache_type, channel) after summing over instances and jobs. Where
# a stack scrapes each instance by two paths (this compose stack: the app's /metrics and the collector),
# numerator and denominator are both doubled, so ratios and quantiles are unaffected; the min_requests
# guard then counts every request twice.
#
# Severity decides the Alertmanager route (collector/alertmanager.yml): critical pages, warning goes to chat.
"""
_TESTS_HEADER = f"""\
# promtool unit tests of {{rules}}, generated with it by:
#   {COMMAND}
# Each test feeds a rule's example series (nethical_otel/alerting/rules/examples.py) to Prometheus and
# expects the alerts, labels and texts the SDK's in-process evaluator produced from the same series.
#   promtool test rules collector/alert-rules.test.yml
"""


class _Dumper(yaml.SafeDumper):
    """Block lists indented under their key, multi-line strings (PromQL) as literal blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump(document: Any) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


@dataclass(frozen=True)
class Export:
    rules: str
    tests: str


def tests_path(rules_path: Path) -> Path:
    """``alert-rules.yml`` -> ``alert-rules.test.yml``, next to it."""
    return rules_path.with_name(f"{rules_path.stem}.test{rules_path.suffix}")


def prometheus(
    config: AlertRulesConfig | None = None, rules_file: str = "alert-rules.yml", rules: Sequence[RuleSpec] = RULES
) -> Export:
    """The rule file and its promtool tests (which load the rules as ``rules_file``, a relative path)."""
    config = config or AlertRulesConfig()
    return Export(
        _RULES_HEADER + dump(rule_groups(rules, config)),
        _TESTS_HEADER.format(rules=rules_file) + dump(tests_document(rules, config, rules_file)),
    )
