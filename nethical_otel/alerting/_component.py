"""Alerting as a part of the ``configure()`` pipeline: threat span processor, rule reader, AlertManager."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.trace import SpanProcessor

from nethical_otel.alerting.channels import build_channels
from nethical_otel.alerting.intake.queue import Intake
from nethical_otel.alerting.intake.span_processor import ThreatSpanProcessor
from nethical_otel.alerting.manager import AlertManager
from nethical_otel.alerting.rules import RuleEvaluator, RuleReader
from nethical_otel.config import Config
from nethical_otel.pipeline import Component

if TYPE_CHECKING:
    from nethical_otel.pipeline import Telemetry


class AlertingComponent(Component):
    name = "alerting"

    def __init__(self, config: Config) -> None:
        self.config = config.alerting
        self.service_name = config.service.name
        build_channels(self.config)  # refuse invalid channel settings before anything starts
        self.intake = Intake(self.config.queue_size)
        self.span_processor = ThreatSpanProcessor(self.intake, self.config.threat_alert_level)
        self.rule_reader = RuleReader() if self.config.rules.enabled else None
        self.rule_evaluator: RuleEvaluator | None = None
        self.manager: AlertManager | None = None

    def span_processors(self) -> Sequence[SpanProcessor]:
        return (self.span_processor,)

    def metric_readers(self) -> Sequence[MetricReader]:
        return (self.rule_reader,) if self.rule_reader is not None else ()

    def start(self, telemetry: Telemetry) -> None:
        manager = AlertManager(
            self.config,
            background=telemetry.background,
            instruments=telemetry.instruments,
            tracer_provider=telemetry.tracer_provider,
            intake=self.intake,
            service_name=self.service_name,
        )
        self.manager = manager
        if telemetry.runtime is not None:
            telemetry.runtime.threat_listeners.append(self.span_processor.on_unrecorded_threat)
        if self.rule_reader is not None:
            evaluator = RuleEvaluator(self.config.rules, self.rule_reader.sample, manager.submit)
            self.rule_reader.wanted = evaluator.wanted
            evaluator.adopt(manager.firing_alerts())
            self.rule_evaluator = evaluator
            leading = [True]

            def evaluate() -> None:
                # Multiprocess mode: one process evaluates the merged view of all workers. One that takes
                # over from another adopts the rule alerts left firing, as after a restart.
                if not telemetry.is_evaluating_process():
                    leading[0] = False
                    return
                if not leading[0]:
                    evaluator.adopt(manager.firing_alerts())
                    leading[0] = True
                evaluator.evaluate()

            async def schedule() -> None:
                manager.every(self.config.rules.evaluation_interval_seconds, evaluate)

            telemetry.background.run(schedule(), 10.0)

    def shutdown(self, timeout: float) -> None:
        if self.manager is not None:
            self.manager.shutdown(timeout)
