"""``MotoCloud``: Pulumi mocks that create every declared resource in the embedded AWS (moto).

For each custom resource the program declares, the matching moto resource is created with boto3
and moto's real identifiers come back as the resource's state, with the output names of the
pulumi-aws provider (``arn``, ``name``, ``id``, ``url``, ``invokeArn``, ``apiEndpoint``,
``executionArn`` ...), so the program wires the real ARNs into its policies, definitions and
environment variables. Names the program leaves out are auto-named as Pulumi does
(``<logical name>-<7 hex>``). A resource type this module does not know stops the run with an
error naming it.

HTTP APIs are the exception to "moto's real values": their ``apiEndpoint`` is the local HTTP API
adapter's URL (``http://127.0.0.1:<port>/<apiId>``, see :mod:`local.gateway`), because that is
where the API is served.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import secrets
import threading
import zipfile
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import pulumi

from local.aws import ACCOUNT, EmbeddedAws
from local.program import RecordingMocks


class UnsupportedResource(Exception):
    """The program declares a resource the local stack cannot create."""


def _int(value: Any) -> Optional[int]:
    return None if value is None else int(value)


def _json_text(value: Any) -> Optional[str]:
    """A policy / pattern input as JSON text (programs may pass a dict or a string)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _prune(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """``mapping`` without its None values (boto3 refuses None parameters)."""
    return {key: value for key, value in mapping.items() if value is not None}


def _archive_files(archive: Any, prefix: str = "") -> dict[str, bytes]:
    """The files of a Pulumi archive (AssetArchive of FileAsset/StringAsset/archives, or FileArchive)."""
    files: dict[str, bytes] = {}
    if isinstance(archive, pulumi.AssetArchive):
        for name, member in archive.assets.items():
            path = f"{prefix}{name}"
            if isinstance(member, pulumi.FileAsset):
                files[path] = Path(member.path).read_bytes()
            elif isinstance(member, pulumi.StringAsset):
                files[path] = member.text.encode("utf-8")
            elif isinstance(member, (pulumi.AssetArchive, pulumi.FileArchive)):
                files.update(_archive_files(member, f"{path}/"))
            else:
                raise UnsupportedResource(f"archive member {path!r}: {type(member).__name__} is not supported locally")
    elif isinstance(archive, pulumi.FileArchive):
        source = Path(archive.path)
        if source.is_dir():
            for file in sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
                files[f"{prefix}{file.relative_to(source).as_posix()}"] = file.read_bytes()
        else:
            with zipfile.ZipFile(source) as bundle:
                for info in bundle.infolist():
                    if not info.is_dir():
                        files[f"{prefix}{info.filename}"] = bundle.read(info)
    else:
        raise UnsupportedResource(f"Lambda code of type {type(archive).__name__} is not supported locally")
    return files


def zip_archive(archive: Any) -> bytes:
    """The deployment package (zip bytes) of a Pulumi archive: entries sorted, fixed 1980-01-01
    timestamps, mode 0644, deflated (so the same sources always give the same bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in sorted(_archive_files(archive).items()):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            # A ZipInfo carries its own compression (ZIP_STORED by default): the ZipFile's is not applied to it.
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, data)
    return buffer.getvalue()


class MotoCloud(RecordingMocks):
    """Mocks that materialize each resource in the embedded AWS (see the module docstring)."""

    def __init__(self, aws: EmbeddedAws, api_base_url: str, lambda_runtime: Any = None) -> None:
        super().__init__()
        self.aws = aws
        self.api_base_url = api_base_url.rstrip("/")
        self.lambda_runtime = lambda_runtime
        self.region = aws.region
        self._lock = threading.Lock()
        self._creators: dict[str, Callable[[str, dict[str, Any]], tuple[str, dict[str, Any]]]] = {
            "pulumi:providers:aws": self._provider,
            "aws:iam/role:Role": self._role,
            "aws:iam/rolePolicy:RolePolicy": self._role_policy,
            "aws:iam/policy:Policy": self._policy,
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment": self._role_policy_attachment,
            "aws:cloudwatch/logGroup:LogGroup": self._log_group,
            "aws:lambda/function:Function": self._function,
            "aws:lambda/permission:Permission": self._permission,
            "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": self._event_invoke_config,
            "aws:lambda/eventSourceMapping:EventSourceMapping": self._event_source_mapping,
            "aws:sfn/stateMachine:StateMachine": self._state_machine,
            "aws:apigatewayv2/api:Api": self._api,
            "aws:apigatewayv2/integration:Integration": self._integration,
            "aws:apigatewayv2/route:Route": self._route,
            "aws:apigatewayv2/stage:Stage": self._stage,
            "aws:sqs/queue:Queue": self._queue,
            "aws:sqs/queuePolicy:QueuePolicy": self._queue_policy,
            "aws:sqs/redrivePolicy:RedrivePolicy": self._queue_redrive_policy,
            "aws:sns/topic:Topic": self._topic,
            "aws:sns/topicPolicy:TopicPolicy": self._topic_policy,
            "aws:sns/topicSubscription:TopicSubscription": self._subscription,
            "aws:dynamodb/table:Table": self._table,
            "aws:cloudwatch/eventBus:EventBus": self._event_bus,
            "aws:cloudwatch/eventRule:EventRule": self._event_rule,
            "aws:cloudwatch/eventTarget:EventTarget": self._event_target,
            "aws:cloudwatch/metricAlarm:MetricAlarm": self._metric_alarm,
            "aws:cloudwatch/dashboard:Dashboard": self._dashboard,
            "aws:s3/bucket:Bucket": self._bucket,
            "aws:kms/key:Key": self._kms_key,
            "aws:kms/alias:Alias": self._kms_alias,
        }

    @property
    def supported_types(self) -> list[str]:
        """The resource types this cloud can create."""
        return sorted(self._creators)

    def create(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        creator = self._creators.get(args.typ)
        if creator is None:
            raise UnsupportedResource(
                f"the local stack cannot create resource {args.name!r} of type {args.typ!r}:"
                f" local/cloud.py supports {', '.join(self.supported_types)}"
            )
        inputs = dict(args.inputs)
        with self._lock:
            try:
                resource_id, outputs = creator(args.name, inputs)
            except UnsupportedResource:
                raise
            except Exception as error:
                raise RuntimeError(f"creating {args.typ} {args.name!r} in the embedded AWS failed: {error}") from error
        return resource_id, {**inputs, **outputs, "id": resource_id}

    # --- helpers -----------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """A boto3 client for the embedded AWS."""
        return self.aws.client(service)

    @staticmethod
    def physical_name(logical: str, inputs: Mapping[str, Any], max_length: int = 64, suffix: str = "") -> str:
        """``name``, or ``namePrefix`` + random, or Pulumi's auto-name ``<logical>-<7 hex>``."""
        if inputs.get("name"):
            return str(inputs["name"])
        if inputs.get("namePrefix"):
            prefix = str(inputs["namePrefix"])
            return f"{prefix}{secrets.token_hex(4)}"[: max_length - len(suffix)] + suffix
        tail = f"-{secrets.token_hex(4)[:7]}{suffix}"
        return logical[: max_length - len(tail)] + tail

    def _arn(self, service: str, resource: str, region: Optional[str] = None) -> str:
        region = self.region if region is None else region
        return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"

    @staticmethod
    def _function_name(name_or_arn: str) -> str:
        return name_or_arn.split(":")[6] if name_or_arn.startswith("arn:") else name_or_arn

    # --- creators (one per type) -------------------------------------------------------------

    def _provider(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return f"{logical}-provider", {}

    def _role(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self.physical_name(logical, inputs, 64)
        iam = self.client("iam")
        role = iam.create_role(
            **_prune(
                {
                    "RoleName": name,
                    "AssumeRolePolicyDocument": _json_text(inputs["assumeRolePolicy"]),
                    "Path": inputs.get("path"),
                    "Description": inputs.get("description"),
                    "MaxSessionDuration": _int(inputs.get("maxSessionDuration")),
                }
            )
        )["Role"]
        for policy in inputs.get("inlinePolicies") or []:
            if policy.get("policy"):
                iam.put_role_policy(RoleName=name, PolicyName=policy["name"], PolicyDocument=_json_text(policy["policy"]))
        for policy_arn in inputs.get("managedPolicyArns") or []:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        return name, {"arn": role["Arn"], "name": name, "uniqueId": role["RoleId"], "createDate": str(role["CreateDate"])}

    def _role_policy(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self.physical_name(logical, inputs, 128)
        role = inputs["role"]
        self.client("iam").put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=_json_text(inputs["policy"]))
        return f"{role}:{name}", {"name": name}

    def _policy(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self.physical_name(logical, inputs, 128)
        policy = self.client("iam").create_policy(
            **_prune({"PolicyName": name, "PolicyDocument": _json_text(inputs["policy"]), "Path": inputs.get("path"),
                      "Description": inputs.get("description")})
        )["Policy"]
        return policy["Arn"], {"arn": policy["Arn"], "name": name, "policyId": policy["PolicyId"]}

    def _role_policy_attachment(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.client("iam").attach_role_policy(RoleName=inputs["role"], PolicyArn=inputs["policyArn"])
        return f"{inputs['role']}-{secrets.token_hex(4)}", {}

    def _log_group(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self.physical_name(logical, inputs, 512)
        logs = self.client("logs")
        logs.create_log_group(**_prune({"logGroupName": name, "kmsKeyId": inputs.get("kmsKeyId")}))
        if inputs.get("retentionInDays"):
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(inputs["retentionInDays"]))
        return name, {"arn": self._arn("logs", f"log-group:{name}"), "name": name}

    def _function(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self.physical_name(logical, inputs, 64)
        if inputs.get("s3Bucket") or inputs.get("imageUri") or "code" not in inputs:
            raise UnsupportedResource(f"Lambda {logical!r}: only `code` archives run locally (no S3 or image code)")
        package = zip_archive(inputs["code"])
        environment = (inputs.get("environment") or {}).get("variables") or {}
        logging_config = inputs.get("loggingConfig") or {}
        function = self.client("lambda").create_function(
            **_prune(
                {
                    "FunctionName": name,
                    "Runtime": inputs.get("runtime"),
                    "Role": inputs["role"],
                    "Handler": inputs.get("handler"),
                    "Code": {"ZipFile": package},
                    "Description": inputs.get("description"),
                    "Timeout": _int(inputs.get("timeout")) or 3,
                    "MemorySize": _int(inputs.get("memorySize")) or 128,
                    "Environment": {"Variables": {k: str(v) for k, v in environment.items()}} if environment else None,
                    "Architectures": inputs.get("architectures"),
                    "TracingConfig": {"Mode": (inputs.get("tracingConfig") or {}).get("mode", "PassThrough")},
                    "LoggingConfig": _prune(
                        {"LogFormat": logging_config.get("logFormat"), "LogGroup": logging_config.get("logGroup")}
                    ) or None,
                    "DeadLetterConfig": {"TargetArn": inputs["deadLetterConfig"]["targetArn"]}
                    if (inputs.get("deadLetterConfig") or {}).get("targetArn") else None,
                }
            )
        )
        arn = function["FunctionArn"]
        if self.lambda_runtime is not None and (inputs.get("deadLetterConfig") or {}).get("targetArn"):
            # moto 5.2.5 does not keep DeadLetterConfig: the Lambda runtime honours it itself.
            self.lambda_runtime.dead_letter_targets[arn] = inputs["deadLetterConfig"]["targetArn"]
        if self.lambda_runtime is not None and logging_config.get("logGroup"):
            # moto 5.2.5 does not keep LoggingConfig either: the runtime writes to that group.
            self.lambda_runtime.log_groups[arn] = logging_config["logGroup"]
        code_hash = base64.b64encode(hashlib.sha256(package).digest()).decode()
        return name, {
            "arn": arn,
            "name": name,
            "invokeArn": f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{arn}/invocations",
            "qualifiedArn": f"{arn}:$LATEST",
            "qualifiedInvokeArn": f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{arn}:$LATEST/invocations",
            "version": "$LATEST",
            "lastModified": function.get("LastModified", ""),
            "sourceCodeHash": code_hash,
            "codeSha256": code_hash,
            "sourceCodeSize": len(package),
        }

    def _permission(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        statement_id = inputs.get("statementId") or (inputs.get("statementIdPrefix") or f"{logical}-") + secrets.token_hex(4)
        self.client("lambda").add_permission(
            **_prune(
                {
                    "FunctionName": inputs["function"],
                    "StatementId": statement_id,
                    "Action": inputs["action"],
                    "Principal": inputs["principal"],
                    "SourceArn": inputs.get("sourceArn"),
                    "SourceAccount": inputs.get("sourceAccount"),
                    "Qualifier": inputs.get("qualifier"),
                }
            )
        )
        return statement_id, {"statementId": statement_id}

    def _event_invoke_config(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        destinations = inputs.get("destinationConfig") or {}
        config = _prune(
            {
                "OnSuccess": {"Destination": destinations["onSuccess"]["destination"]}
                if (destinations.get("onSuccess") or {}).get("destination") else None,
                "OnFailure": {"Destination": destinations["onFailure"]["destination"]}
                if (destinations.get("onFailure") or {}).get("destination") else None,
            }
        )
        function = self._function_name(inputs["functionName"])
        self.client("lambda").put_function_event_invoke_config(
            **_prune(
                {
                    "FunctionName": function,
                    "Qualifier": inputs.get("qualifier"),
                    "MaximumRetryAttempts": _int(inputs.get("maximumRetryAttempts")),
                    "MaximumEventAgeInSeconds": _int(inputs.get("maximumEventAgeInSeconds")),
                    "DestinationConfig": config or None,
                }
            )
        )
        qualifier = inputs.get("qualifier")
        return f"{function}:{qualifier}" if qualifier else function, {}

    def _event_source_mapping(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        filters = (inputs.get("filterCriteria") or {}).get("filters")
        mapping = self.client("lambda").create_event_source_mapping(
            **_prune(
                {
                    "EventSourceArn": inputs["eventSourceArn"],
                    "FunctionName": inputs["functionName"],
                    "Enabled": inputs.get("enabled", True),
                    "BatchSize": _int(inputs.get("batchSize")),
                    "MaximumBatchingWindowInSeconds": _int(inputs.get("maximumBatchingWindowInSeconds")),
                    "FunctionResponseTypes": inputs.get("functionResponseTypes"),
                    "FilterCriteria": {"Filters": [{"Pattern": f.get("pattern")} for f in filters]} if filters else None,
                    "ScalingConfig": {"MaximumConcurrency": _int(inputs["scalingConfig"]["maximumConcurrency"])}
                    if (inputs.get("scalingConfig") or {}).get("maximumConcurrency") else None,
                }
            )
        )
        return mapping["UUID"], {
            "uuid": mapping["UUID"],
            "functionArn": mapping["FunctionArn"],
            "state": mapping.get("State", "Enabled"),
            "arn": self._arn("lambda", f"event-source-mapping:{mapping['UUID']}"),
        }

    def _state_machine(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self.physical_name(logical, inputs, 80)
        logging_config = inputs.get("loggingConfiguration") or {}
        destination = logging_config.get("logDestination")
        machine = self.client("stepfunctions").create_state_machine(
            **_prune(
                {
                    "name": name,
                    "definition": _json_text(inputs["definition"]),
                    "roleArn": inputs["roleArn"],
                    "type": inputs.get("type") or "STANDARD",
                    "loggingConfiguration": _prune(
                        {
                            "level": logging_config.get("level"),
                            "includeExecutionData": logging_config.get("includeExecutionData"),
                            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": destination}}]
                            if destination else None,
                        }
                    ) or None,
                    "tracingConfiguration": {"enabled": bool((inputs.get("tracingConfiguration") or {}).get("enabled"))},
                    "publish": inputs.get("publish"),
                }
            )
        )
        arn = machine["stateMachineArn"]
        return arn, {
            "arn": arn,
            "name": name,
            "creationDate": str(machine.get("creationDate", "")),
            "status": "ACTIVE",
            "stateMachineVersionArn": machine.get("stateMachineVersionArn", ""),
            "revisionId": "",
        }

    def _api(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if inputs.get("target") or inputs.get("routeKey"):
            raise UnsupportedResource(f"Api {logical!r}: quick-create (target/routeKey on the Api) is not supported locally")
        name = self.physical_name(logical, inputs, 128)
        api = self.client("apigatewayv2").create_api(
            **_prune(
                {
                    "Name": name,
                    "ProtocolType": inputs.get("protocolType", "HTTP"),
                    "Description": inputs.get("description"),
                    "RouteSelectionExpression": inputs.get("routeSelectionExpression"),
                    "Version": inputs.get("version"),
                    "DisableExecuteApiEndpoint": inputs.get("disableExecuteApiEndpoint"),
                }
            )
        )
        api_id = api["ApiId"]
        return api_id, {
            "name": name,
            # Served by the local HTTP API adapter, not at moto's execute-api host name.
            "apiEndpoint": f"{self.api_base_url}/{api_id}",
            "executionArn": self._arn("execute-api", api_id),
            "arn": f"arn:aws:apigateway:{self.region}::/apis/{api_id}",
        }

    def _integration(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        integration = self.client("apigatewayv2").create_integration(
            **_prune(
                {
                    "ApiId": inputs["apiId"],
                    "IntegrationType": inputs["integrationType"],
                    "IntegrationUri": inputs.get("integrationUri"),
                    "IntegrationMethod": inputs.get("integrationMethod"),
                    "PayloadFormatVersion": inputs.get("payloadFormatVersion"),
                    "TimeoutInMillis": _int(inputs.get("timeoutMilliseconds")),
                    "ConnectionType": inputs.get("connectionType"),
                    "Description": inputs.get("description"),
                    "CredentialsArn": inputs.get("credentialsArn"),
                }
            )
        )
        return integration["IntegrationId"], {"integrationResponseSelectionExpression": ""}

    def _route(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        route = self.client("apigatewayv2").create_route(
            **_prune(
                {
                    "ApiId": inputs["apiId"],
                    "RouteKey": inputs["routeKey"],
                    "Target": inputs.get("target"),
                    "AuthorizationType": inputs.get("authorizationType") or "NONE",
                    "AuthorizerId": inputs.get("authorizerId"),
                    "OperationName": inputs.get("operationName"),
                    "ApiKeyRequired": inputs.get("apiKeyRequired"),
                }
            )
        )
        return route["RouteId"], {}

    def _stage(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = inputs.get("name") or "$default"
        defaults = inputs.get("defaultRouteSettings") or {}
        access = inputs.get("accessLogSettings") or {}
        self.client("apigatewayv2").create_stage(
            **_prune(
                {
                    "ApiId": inputs["apiId"],
                    "StageName": name,
                    "AutoDeploy": inputs.get("autoDeploy"),
                    "Description": inputs.get("description"),
                    "StageVariables": inputs.get("stageVariables"),
                    "DefaultRouteSettings": _prune(
                        {
                            "ThrottlingRateLimit": defaults.get("throttlingRateLimit"),
                            "ThrottlingBurstLimit": _int(defaults.get("throttlingBurstLimit")),
                            "DetailedMetricsEnabled": defaults.get("detailedMetricsEnabled"),
                        }
                    ) or None,
                    "AccessLogSettings": _prune(
                        {"DestinationArn": access.get("destinationArn"), "Format": access.get("format")}
                    ) or None,
                }
            )
        )
        base = f"{self.api_base_url}/{inputs['apiId']}"
        return name, {
            "invokeUrl": base if name == "$default" else f"{base}/{name}",
            "executionArn": self._arn("execute-api", f"{inputs['apiId']}/{name}"),
            "arn": f"arn:aws:apigateway:{self.region}::/apis/{inputs['apiId']}/stages/{name}",
        }

    def _queue(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        fifo = bool(inputs.get("fifoQueue"))
        name = self.physical_name(logical, inputs, 80, ".fifo" if fifo else "")
        attributes = _prune(
            {
                "FifoQueue": "true" if fifo else None,
                "ContentBasedDeduplication": str(inputs["contentBasedDeduplication"]).lower()
                if inputs.get("contentBasedDeduplication") is not None and fifo else None,
                "SqsManagedSseEnabled": str(inputs["sqsManagedSseEnabled"]).lower()
                if inputs.get("sqsManagedSseEnabled") is not None else None,
                "KmsMasterKeyId": inputs.get("kmsMasterKeyId"),
                "KmsDataKeyReusePeriodSeconds": inputs.get("kmsDataKeyReusePeriodSeconds"),
                "MessageRetentionPeriod": inputs.get("messageRetentionSeconds"),
                "VisibilityTimeout": inputs.get("visibilityTimeoutSeconds"),
                "DelaySeconds": inputs.get("delaySeconds"),
                "MaximumMessageSize": inputs.get("maxMessageSize"),
                "ReceiveMessageWaitTimeSeconds": inputs.get("receiveWaitTimeSeconds"),
                "RedrivePolicy": _json_text(inputs.get("redrivePolicy")) or None,
                "RedriveAllowPolicy": _json_text(inputs.get("redriveAllowPolicy")) or None,
                "Policy": _json_text(inputs.get("policy")) or None,
                "DeduplicationScope": inputs.get("deduplicationScope"),
                "FifoThroughputLimit": inputs.get("fifoThroughputLimit"),
            }
        )
        attributes = {k: str(_int(v)) if isinstance(v, float) else str(v) for k, v in attributes.items()}
        url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return url, {"arn": self._arn("sqs", name), "url": url, "name": name}

    def _queue_policy(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.client("sqs").set_queue_attributes(QueueUrl=inputs["queueUrl"], Attributes={"Policy": _json_text(inputs["policy"])})
        return inputs["queueUrl"], {}

    def _queue_redrive_policy(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.client("sqs").set_queue_attributes(
            QueueUrl=inputs["queueUrl"], Attributes={"RedrivePolicy": _json_text(inputs["redrivePolicy"])}
        )
        return inputs["queueUrl"], {}

    def _topic(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        fifo = bool(inputs.get("fifoTopic"))
        name = self.physical_name(logical, inputs, 256, ".fifo" if fifo else "")
        attributes = _prune(
            {
                "FifoTopic": "true" if fifo else None,
                "ContentBasedDeduplication": "true" if inputs.get("contentBasedDeduplication") and fifo else None,
                "KmsMasterKeyId": inputs.get("kmsMasterKeyId"),
                "DisplayName": inputs.get("displayName"),
                "Policy": _json_text(inputs.get("policy")) or None,
                "DeliveryPolicy": _json_text(inputs.get("deliveryPolicy")) or None,
                "TracingConfig": inputs.get("tracingConfig"),
            }
        )
        arn = self.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        return arn, {"arn": arn, "name": name, "owner": ACCOUNT}

    def _topic_policy(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.client("sns").set_topic_attributes(
            TopicArn=inputs["arn"], AttributeName="Policy", AttributeValue=_json_text(inputs["policy"])
        )
        return inputs["arn"], {"owner": ACCOUNT}

    def _subscription(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        attributes = _prune(
            {
                "RawMessageDelivery": "true" if inputs.get("rawMessageDelivery") else None,
                "FilterPolicy": _json_text(inputs.get("filterPolicy")) or None,
                "FilterPolicyScope": inputs.get("filterPolicyScope"),
                "RedrivePolicy": _json_text(inputs.get("redrivePolicy")) or None,
                "DeliveryPolicy": _json_text(inputs.get("deliveryPolicy")) or None,
                "SubscriptionRoleArn": inputs.get("subscriptionRoleArn"),
            }
        )
        arn = self.client("sns").subscribe(
            TopicArn=inputs["topic"],
            Protocol=inputs["protocol"],
            Endpoint=inputs["endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        return arn, {"arn": arn, "ownerId": ACCOUNT, "confirmationWasAuthenticated": True, "pendingConfirmation": False}

    def _table(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self.physical_name(logical, inputs, 255)
        billing = inputs.get("billingMode") or "PROVISIONED"
        throughput = None
        if billing == "PROVISIONED":
            throughput = {"ReadCapacityUnits": _int(inputs.get("readCapacity")) or 1,
                          "WriteCapacityUnits": _int(inputs.get("writeCapacity")) or 1}
        keys = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
        if inputs.get("rangeKey"):
            keys.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})

        def index(spec: Mapping[str, Any], local: bool = False) -> dict[str, Any]:
            schema = [{"AttributeName": spec.get("hashKey") or inputs["hashKey"], "KeyType": "HASH"}]
            if spec.get("rangeKey"):
                schema.append({"AttributeName": spec["rangeKey"], "KeyType": "RANGE"})
            projection = _prune({"ProjectionType": spec.get("projectionType", "ALL"),
                                 "NonKeyAttributes": spec.get("nonKeyAttributes")})
            result = {"IndexName": spec["name"], "KeySchema": schema, "Projection": projection}
            if not local and billing == "PROVISIONED":
                result["ProvisionedThroughput"] = {"ReadCapacityUnits": _int(spec.get("readCapacity")) or 1,
                                                   "WriteCapacityUnits": _int(spec.get("writeCapacity")) or 1}
            return result

        sse = inputs.get("serverSideEncryption") or {}
        dynamodb = self.client("dynamodb")
        table = dynamodb.create_table(
            **_prune(
                {
                    "TableName": name,
                    "BillingMode": billing,
                    "KeySchema": keys,
                    "AttributeDefinitions": [
                        {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs.get("attributes") or []
                    ],
                    "ProvisionedThroughput": throughput,
                    "GlobalSecondaryIndexes": [index(i) for i in inputs.get("globalSecondaryIndexes") or []] or None,
                    "LocalSecondaryIndexes": [index(i, True) for i in inputs.get("localSecondaryIndexes") or []] or None,
                    "SSESpecification": _prune({"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": sse.get("kmsKeyArn")})
                    if sse.get("enabled") else None,
                    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": inputs.get("streamViewType")}
                    if inputs.get("streamEnabled") else None,
                    "TableClass": inputs.get("tableClass"),
                    "DeletionProtectionEnabled": inputs.get("deletionProtectionEnabled"),
                }
            )
        )["TableDescription"]
        ttl = inputs.get("ttl") or {}
        if ttl.get("enabled") and ttl.get("attributeName"):
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]}
            )
        if (inputs.get("pointInTimeRecovery") or {}).get("enabled"):
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        return name, {
            "arn": table["TableArn"],
            "name": name,
            "streamArn": table.get("LatestStreamArn", ""),
            "streamLabel": table.get("LatestStreamLabel", ""),
        }

    def _event_bus(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self.physical_name(logical, inputs, 256)
        arn = self.client("events").create_event_bus(
            **_prune({"Name": name, "EventSourceName": inputs.get("eventSourceName"), "Description": inputs.get("description")})
        )["EventBusArn"]
        return name, {"arn": arn, "name": name}

    def _event_rule(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self.physical_name(logical, inputs, 64)
        bus = inputs.get("eventBusName") or "default"
        state = inputs.get("state") or ("DISABLED" if inputs.get("isEnabled") is False else "ENABLED")
        arn = self.client("events").put_rule(
            **_prune(
                {
                    "Name": name,
                    "EventBusName": bus,
                    "EventPattern": _json_text(inputs.get("eventPattern")),
                    "ScheduleExpression": inputs.get("scheduleExpression"),
                    "Description": inputs.get("description"),
                    "RoleArn": inputs.get("roleArn"),
                    "State": state,
                }
            )
        )["RuleArn"]
        bus_name = bus.split("/")[-1] if bus.startswith("arn:") else bus
        return (name if bus_name == "default" else f"{bus_name}/{name}"), {"arn": arn, "name": name}

    def _event_target(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        target_id = inputs.get("targetId") or f"{logical}-{secrets.token_hex(4)}"[-64:]
        transformer = inputs.get("inputTransformer") or {}
        retry = inputs.get("retryPolicy") or {}
        target = _prune(
            {
                "Id": target_id,
                "Arn": inputs["arn"],
                "RoleArn": inputs.get("roleArn"),
                "Input": _json_text(inputs.get("input")),
                "InputPath": inputs.get("inputPath"),
                "InputTransformer": _prune(
                    {"InputPathsMap": transformer.get("inputPaths"), "InputTemplate": transformer.get("inputTemplate")}
                ) or None,
                "RetryPolicy": _prune(
                    {
                        "MaximumRetryAttempts": _int(retry.get("maximumRetryAttempts")),
                        "MaximumEventAgeInSeconds": _int(retry.get("maximumEventAgeInSeconds")),
                    }
                ) or None,
                "DeadLetterConfig": {"Arn": inputs["deadLetterConfig"]["arn"]}
                if (inputs.get("deadLetterConfig") or {}).get("arn") else None,
                "SqsParameters": {"MessageGroupId": inputs["sqsTarget"]["messageGroupId"]}
                if (inputs.get("sqsTarget") or {}).get("messageGroupId") else None,
            }
        )
        bus = inputs.get("eventBusName") or "default"
        response = self.client("events").put_targets(Rule=inputs["rule"], EventBusName=bus, Targets=[target])
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"put_targets failed: {response['FailedEntries']}")
        return f"{inputs['rule']}-{target_id}", {"targetId": target_id}

    def _metric_alarm(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = self.physical_name(logical, inputs, 255)
        dimensions = inputs.get("dimensions") or {}

        def query(spec: Mapping[str, Any]) -> dict[str, Any]:
            metric = spec.get("metric") or {}
            return _prune(
                {
                    "Id": spec["id"],
                    "Expression": spec.get("expression"),
                    "Label": spec.get("label"),
                    "ReturnData": spec.get("returnData"),
                    "Period": _int(spec.get("period")),
                    "MetricStat": _prune(
                        {
                            "Metric": _prune(
                                {
                                    "MetricName": metric.get("metricName"),
                                    "Namespace": metric.get("namespace"),
                                    "Dimensions": [{"Name": k, "Value": v} for k, v in (metric.get("dimensions") or {}).items()],
                                }
                            ),
                            "Period": _int(metric.get("period")),
                            "Stat": metric.get("stat"),
                            "Unit": metric.get("unit"),
                        }
                    ) if metric else None,
                }
            )

        self.client("cloudwatch").put_metric_alarm(
            **_prune(
                {
                    "AlarmName": name,
                    "AlarmDescription": inputs.get("alarmDescription"),
                    "ActionsEnabled": inputs.get("actionsEnabled"),
                    "AlarmActions": inputs.get("alarmActions"),
                    "OKActions": inputs.get("okActions"),
                    "InsufficientDataActions": inputs.get("insufficientDataActions"),
                    "MetricName": inputs.get("metricName"),
                    "Namespace": inputs.get("namespace"),
                    "Statistic": inputs.get("statistic"),
                    "ExtendedStatistic": inputs.get("extendedStatistic"),
                    "Dimensions": [{"Name": k, "Value": str(v)} for k, v in dimensions.items()] or None,
                    "Period": _int(inputs.get("period")),
                    "Unit": inputs.get("unit"),
                    "EvaluationPeriods": _int(inputs["evaluationPeriods"]),
                    "DatapointsToAlarm": _int(inputs.get("datapointsToAlarm")),
                    "Threshold": inputs.get("threshold"),
                    "ComparisonOperator": inputs["comparisonOperator"],
                    "TreatMissingData": inputs.get("treatMissingData"),
                    "Metrics": [query(q) for q in inputs.get("metricQueries") or []] or None,
                    "ThresholdMetricId": inputs.get("thresholdMetricId"),
                }
            )
        )
        return name, {"arn": self._arn("cloudwatch", f"alarm:{name}"), "name": name}

    def _dashboard(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = inputs["dashboardName"]
        body = _json_text(inputs["dashboardBody"])
        self.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=body)
        return name, {"dashboardArn": f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{name}", "dashboardName": name}

    def _bucket(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        # An S3 bucket (a Distributed Map's ItemReader / ResultWriter, an aws-sdk:s3 Task): its name
        # is `bucket`, or `bucketPrefix` + random, or the logical name + random, lowercased (S3's rule).
        named = {"name": inputs.get("bucket"), "namePrefix": inputs.get("bucketPrefix")}
        name = self.physical_name(logical, named, 63).lower()
        location = {} if self.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        self.client("s3").create_bucket(Bucket=name, **location)
        return name, {"bucket": name, "arn": f"arn:aws:s3:::{name}", "id": name,
                      "bucketDomainName": f"{name}.s3.amazonaws.com", "region": self.region}

    def _kms_key(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        kms = self.client("kms")
        key = kms.create_key(
            **_prune(
                {
                    "Policy": _json_text(inputs.get("policy")),
                    "Description": inputs.get("description"),
                    "KeyUsage": inputs.get("keyUsage"),
                    "KeySpec": inputs.get("customerMasterKeySpec"),
                    "MultiRegion": inputs.get("multiRegion"),
                }
            )
        )["KeyMetadata"]
        if inputs.get("enableKeyRotation"):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        return key["KeyId"], {"arn": key["Arn"], "keyId": key["KeyId"]}

    def _kms_alias(self, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = inputs.get("name") or f"{inputs.get('namePrefix') or 'alias/' + logical + '-'}{secrets.token_hex(4)}"
        self.client("kms").create_alias(AliasName=name, TargetKeyId=inputs["targetKeyId"])
        return name, {"arn": self._arn("kms", name), "name": name, "targetKeyArn": inputs["targetKeyId"]}
