"""Adapters for what moto 5.2.5 does not deliver (or delivers unlike AWS) between services.

Each adapter patches one moto method, names the gap it bridges, and is undone by :func:`uninstall`:

- **SNS -> Lambda** (``moto.sns.models.Subscription.publish``): moto invokes the function
  synchronously inside ``Publish`` with a canned event (fixed topic ARN, fake message id, fake
  attributes). Here the real SNS event is built and the function is invoked asynchronously
  (``InvocationType=Event``), as SNS does: the function's async retry policy and failure
  destination then apply. If the function cannot be invoked at all (it does not exist), SNS's
  delivery retries run and the message goes to the subscription's redrive-policy queue.
- **EventBridge -> Lambda / Step Functions / SNS targets** (``moto.events.models.Rule.send_to_targets``):
  moto raises ``NotImplementedError`` for these targets (and ignores the rule's ``State``). Here a
  matching event (moto's own pattern matcher decides) is shaped by the target's ``Input``,
  ``InputPath`` or ``InputTransformer`` and delivered asynchronously: a Lambda is invoked with
  ``InvocationType=Event`` (its async retry policy and destination apply), a state machine gets
  a ``StartExecution``, a topic a ``Publish``. When the delivery itself fails (no such function,
  state machine or topic), the target's ``RetryPolicy`` is honoured and then its
  ``DeadLetterConfig`` queue receives the event, with EventBridge's error attributes.
- **SQS -> Lambda event source mappings** (``LambdaBackend.create_event_source_mapping``): moto
  invokes the function synchronously inside ``SendMessage``, so the sender waits for the consumer
  and a failed batch is never retried. Here each mapping gets a poller thread that long-polls the
  queue, invokes the function with the batch, deletes what succeeded (``ReportBatchItemFailures``
  honoured) and leaves failures to reappear after the visibility timeout, so the queue's redrive
  policy moves them to its dead-letter queue after ``maxReceiveCount`` receives.
"""

from __future__ import annotations

import copy
import json
import re
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from local.aws import ACCOUNT

#: Retries of a failed delivery (no such target) before the dead-letter queue, locally.
DELIVERY_RETRY_DELAY_SECONDS = 0.1
DELIVERY_MAX_RETRY_DELAY_SECONDS = 1.0
#: SNS delivery retries to a Lambda endpoint that cannot be invoked (AWS: 3 immediate + backoff).
SNS_DELIVERY_ATTEMPTS = 4


def _iso(value: Any) -> str:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _log(message: str) -> None:
    print(f"[local] {message}", file=sys.stderr)


def json_path(document: Any, path: str) -> Any:
    """The value at a simple JSONPath (``$``, ``$.a.b``, ``$.a[0]``) of ``document``; None if absent."""
    if path in ("$", ""):
        return document
    value = document
    for part in path.lstrip("$").lstrip(".").replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("["):
            index = int(part.strip("[]"))
            value = value[index] if isinstance(value, list) and -len(value) <= index < len(value) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


def transform_input(template: str, paths: dict[str, str], event: dict[str, Any], rule_arn: str = "") -> Any:
    """EventBridge's input transformer: ``<name>`` placeholders filled from ``paths`` (JSONPaths into the event).

    Inside a JSON string a value is inserted as text; elsewhere as JSON (a string gets its quotes).
    The result is parsed as JSON when it is JSON, else delivered as a string (as EventBridge does).
    (moto 5.2.5's ``EventTemplateParser`` inserts strings unquoted and fails on unquoted string values.)
    """
    values: dict[str, Any] = {name: json_path(event, path) for name, path in paths.items()}
    values.update({
        "aws.events.event": event,
        "aws.events.event.json": event,
        "aws.events.rule-arn": rule_arn,
        "aws.events.rule-name": rule_arn.rsplit("/", 1)[-1],
        "aws.events.event.ingestion-time": event.get("time"),
    })
    out: list[str] = []
    in_string = escaped = False
    index = 0
    while index < len(template):
        char = template[index]
        match = _PLACEHOLDER.match(template, index) if char == "<" else None
        if match and match.group(1) in values:
            value = values[match.group(1)]
            if in_string:
                text = value if isinstance(value, str) else json.dumps(value)
                out.append(json.dumps(text)[1:-1])
            else:
                out.append("null" if value is None else json.dumps(value))
            index = match.end()
            continue
        if in_string and char == "\\" and not escaped:
            escaped = True
        else:
            if char == '"' and not escaped:
                in_string = not in_string
            escaped = False
        out.append(char)
        index += 1
    text = "".join(out)
    try:
        return json.loads(text)
    except ValueError:
        return text


class Deliveries:
    """The delivery adapters (see the module docstring); :meth:`install` patches moto."""

    def __init__(self, lambda_runtime: Any, region: str, account: str = ACCOUNT, workers: int = 8) -> None:
        self.runtime = lambda_runtime
        self.region = region
        self.account = account
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="delivery")
        self._stopping = threading.Event()
        self._pollers: dict[str, threading.Thread] = {}
        self._originals: list[tuple[Any, str, Any]] = []

    # --- installation ------------------------------------------------------------------------

    def install(self) -> "Deliveries":
        """Patch moto's SNS delivery, EventBridge targets and Lambda event source mappings."""
        from moto.awslambda.models import LambdaBackend
        from moto.events.models import Rule
        from moto.sns.models import Subscription

        adapters = self

        def subscription_publish(subscription: Any, message: str, message_id: str, **kwargs: Any) -> None:
            if subscription.protocol != "lambda":
                return original_publish(subscription, message, message_id, **kwargs)
            adapters.sns_to_lambda(subscription, message, message_id, **kwargs)
            return None

        def send_to_targets(rule: Any, original_event: Any, transform_input: bool = True) -> None:
            adapters.rule_to_targets(rule, original_event, transform_input, original_send)

        def create_event_source_mapping(backend: Any, spec: dict[str, Any]) -> Any:
            mapping = original_create_esm(backend, spec)
            adapters.start_sqs_poller(backend, mapping)
            return mapping

        original_publish = self._patch(Subscription, "publish", subscription_publish)
        original_send = self._patch(Rule, "send_to_targets", send_to_targets)
        original_create_esm = self._patch(LambdaBackend, "create_event_source_mapping", create_event_source_mapping)
        return self

    def _patch(self, owner: Any, name: str, replacement: Callable[..., Any]) -> Any:
        original = getattr(owner, name)
        self._originals.append((owner, name, original))
        setattr(owner, name, replacement)
        return original

    def stop(self) -> None:
        """Undo the patches and stop the pollers and delivery workers."""
        self._stopping.set()
        for owner, name, original in reversed(self._originals):
            setattr(owner, name, original)
        self._originals.clear()
        for poller in self._pollers.values():
            poller.join(3)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _lambda_backend(self) -> Any:
        from moto.awslambda.utils import get_backend

        return get_backend(self.account, self.region)

    def _retrying(self, attempts: int, max_age: float, deliver: Callable[[], None]) -> Optional[Exception]:
        """Call ``deliver`` until it succeeds, at most ``attempts`` times and ``max_age`` seconds; the last error."""
        started = time.time()
        error: Optional[Exception] = None
        for attempt in range(max(1, attempts)):
            try:
                deliver()
                return None
            except Exception as failure:  # noqa: BLE001 - any delivery failure is retried
                error = failure
            delay = min(DELIVERY_RETRY_DELAY_SECONDS * 2 ** attempt, DELIVERY_MAX_RETRY_DELAY_SECONDS)
            if time.time() + delay - started > max_age or self._stopping.wait(delay):
                break
        return error

    # --- SNS -> Lambda ---------------------------------------------------------------------

    def sns_to_lambda(self, subscription: Any, message: str, message_id: str, **kwargs: Any) -> None:
        """Deliver one SNS message to a Lambda subscription, asynchronously (see the module docstring)."""
        attributes = kwargs.get("message_attributes") or {}
        matcher = getattr(subscription, "_filter_policy_matcher", None)
        if matcher is not None and not matcher.matches(attributes, message):
            return
        if kwargs.get("message_structure") == "json":
            message = subscription._parse_message_structure(message, "lambda")
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        topic_arn = subscription.topic.arn
        event = {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": subscription.arn,
                    "Sns": {
                        "Type": "Notification",
                        "MessageId": message_id,
                        "TopicArn": topic_arn,
                        "Subject": kwargs.get("subject"),
                        "Message": message,
                        "Timestamp": now,
                        "SignatureVersion": "1",
                        "Signature": "EXAMPLE",
                        "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/local.pem",
                        "UnsubscribeUrl": f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription.arn}",
                        "MessageAttributes": {
                            name: {"Type": value.get("Type"), "Value": value.get("Value")}
                            for name, value in attributes.items()
                        },
                    },
                }
            ]
        }

        def deliver() -> None:
            function = self._lambda_backend().get_function(subscription.endpoint)
            self.runtime.invoke_async(function, event)

        def run() -> None:
            error = self._retrying(SNS_DELIVERY_ATTEMPTS, 3600, deliver)
            if error is None:
                return
            redrive = json.loads(subscription.attributes.get("RedrivePolicy") or "{}")
            dlq = redrive.get("deadLetterTargetArn")
            if not dlq:
                _log(f"SNS could not deliver message {message_id} to {subscription.endpoint} ({error!r}); no redrive policy, dropped")
                return
            body = subscription.get_post_data(message, message_id, kwargs.get("subject"), message_attributes=attributes)
            self._send_to_queue(dlq, json.dumps(body), {})

        self._pool.submit(run)

    # --- EventBridge -> targets ------------------------------------------------------------

    def rule_to_targets(self, rule: Any, original_event: Any, transform_input: bool, original_send: Callable[..., None]) -> None:
        """moto's ``send_to_targets`` plus Lambda, Step Functions and SNS targets, honouring the rule's state."""
        if getattr(rule, "state", "ENABLED") == "DISABLED":
            return
        if not rule.event_pattern.matches_event(original_event):
            return
        ours = [t for t in rule.targets if t["Arn"].split(":")[2] in ("lambda", "states", "sns")]
        others = [t for t in rule.targets if t not in ours]
        if others:
            clone = copy.copy(rule)
            clone.targets = others
            original_send(clone, original_event, transform_input)
        for target in ours:
            payload = self.target_input(target, original_event, rule.arn)
            self._pool.submit(self._deliver_to_target, rule, target, payload)

    @staticmethod
    def target_input(target: dict[str, Any], original_event: Any, rule_arn: str = "") -> Any:
        """What EventBridge sends a target: the event, or its ``Input``/``InputPath``/``InputTransformer``."""
        event = dict(original_event)
        event["time"] = _iso(event.get("time"))
        if target.get("Input") is not None:
            return json.loads(target["Input"])
        if target.get("InputPath"):
            plain = {k: v for k, v in event.items() if k != "ingestion-time"}
            return json_path(plain, target["InputPath"])
        plain = {k: v for k, v in event.items() if k != "ingestion-time"}
        transformer = target.get("InputTransformer")
        if transformer:
            return transform_input(transformer.get("InputTemplate") or "<aws.events.event>",
                                   transformer.get("InputPathsMap") or {}, plain, rule_arn)
        return plain

    def _deliver_to_target(self, rule: Any, target: dict[str, Any], payload: Any) -> None:
        arn = target["Arn"]
        service = arn.split(":")[2]

        def deliver() -> None:
            if service == "lambda":
                function = self._lambda_backend().get_function(arn)
                self.runtime.invoke_async(function, payload)
            elif service == "states":
                self.runtime.client("stepfunctions").start_execution(
                    stateMachineArn=arn, name=str(uuid.uuid4()), input=json.dumps(payload)
                )
            else:
                self.runtime.client("sns").publish(TopicArn=arn, Message=json.dumps(payload))

        retry = target.get("RetryPolicy") or {}
        error = self._retrying(
            int(retry.get("MaximumRetryAttempts", 185)) + 1, float(retry.get("MaximumEventAgeInSeconds", 86400)), deliver
        )
        if error is None:
            return
        dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
        if not dlq:
            _log(f"EventBridge could not deliver to {arn} ({error!r}); no dead-letter queue, event dropped")
            return
        attributes = {
            "RULE_ARN": rule.arn,
            "TARGET_ARN": arn,
            "ERROR_CODE": type(error).__name__,
            "ERROR_MESSAGE": str(error)[:256] or "-",
        }
        self._send_to_queue(dlq, json.dumps(payload), attributes)

    def _send_to_queue(self, queue_arn: str, body: str, attributes: dict[str, str]) -> None:
        try:
            sqs = self.runtime.client("sqs")
            url = sqs.get_queue_url(QueueName=queue_arn.split(":")[5])["QueueUrl"]
            sqs.send_message(
                QueueUrl=url,
                MessageBody=body,
                MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
            )
        except Exception as error:  # noqa: BLE001
            _log(f"could not dead-letter to {queue_arn}: {error!r}")

    # --- SQS -> Lambda ---------------------------------------------------------------------

    def start_sqs_poller(self, backend: Any, mapping: Any) -> None:
        """Replace moto's in-SendMessage invocation by a poller thread for an SQS event source mapping."""
        from moto.sqs.models import sqs_backends

        source = mapping.event_source_arn
        if ":sqs:" not in source:
            return
        queue_name = source.split(":")[5]
        sqs = sqs_backends[self.account][self.region]
        queue = sqs.get_queue(queue_name)
        queue.lambda_event_source_mappings.pop(mapping.function_arn, None)
        poller = threading.Thread(
            target=self._poll, args=(backend, mapping.uuid, queue_name), name=f"sqs-poller:{queue_name}", daemon=True
        )
        self._pollers[mapping.uuid] = poller
        poller.start()

    def _poll(self, backend: Any, mapping_id: str, queue_name: str) -> None:
        from moto.sqs.models import sqs_backends

        sqs = sqs_backends[self.account][self.region]
        while not self._stopping.is_set():
            mapping = backend._event_source_mappings.get(mapping_id)
            if mapping is None:
                return
            if not mapping.enabled:
                self._stopping.wait(0.5)
                continue
            try:
                queue = sqs.get_queue(queue_name)
                messages = sqs.receive_message(
                    # moto sets a queue's attributes from its API names at run time (no declared field).
                    queue_name, int(mapping.batch_size or 10), 1, int(getattr(queue, "visibility_timeout")), ["All"]
                )
            except Exception as error:  # noqa: BLE001 - the queue was deleted
                _log(f"SQS poller for {queue_name} stops: {error!r}")
                return
            if not messages:
                continue
            try:
                function = backend.get_function(mapping.function_arn)
            except Exception as error:  # noqa: BLE001
                _log(f"SQS poller for {queue_name}: no function {mapping.function_arn} ({error!r})")
                continue
            event = {"Records": [self._sqs_record(m, queue.queue_arn) for m in messages]}
            result = self.runtime.run(function, event)
            if result.failed:
                continue  # the batch reappears after the visibility timeout
            failed: set[str] = set()
            if "ReportBatchItemFailures" in (getattr(mapping, "function_response_types", None) or []):
                try:
                    failures = (result.json() or {}).get("batchItemFailures") or []
                    failed = {f.get("itemIdentifier") for f in failures}
                except (ValueError, AttributeError):
                    failed = {m.id for m in messages}
            for message in messages:
                if message.id not in failed and message.receipt_handle is not None:
                    try:
                        sqs.delete_message(queue_name, message.receipt_handle)
                    except Exception:  # noqa: BLE001 - already gone
                        pass

    def _sqs_record(self, message: Any, queue_arn: str) -> dict[str, Any]:
        attributes = {
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "SentTimestamp": str(message.sent_timestamp),
            "SenderId": str(message.sender_id),
            "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        }
        if message.group_id:
            attributes["MessageGroupId"] = message.group_id
        if message.deduplication_id:
            attributes["MessageDeduplicationId"] = message.deduplication_id
        message_attributes = {}
        for name, value in (message.message_attributes or {}).items():
            message_attributes[name] = {
                "dataType": value.get("data_type") or value.get("DataType"),
                "stringValue": value.get("string_value") or value.get("StringValue"),
                "binaryValue": value.get("binary_value") or value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
            }
        return {
            "messageId": message.id,
            "receiptHandle": message.receipt_handle,
            "body": message.body,
            "attributes": attributes,
            "messageAttributes": message_attributes,
            "md5OfBody": message.body_md5,
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": self.region,
        }
