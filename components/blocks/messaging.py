"""Encrypted, TLS-only SQS queues and SNS topics, and encrypted DynamoDB tables.

The patterns create their queues, topics and tables through these functions so that every one
of them is encrypted at rest, refuses plain-HTTP requests, and is set up the same way.
"""

from typing import Optional, Sequence, Tuple

import pulumi
import pulumi_aws as aws

from sfn_patterns.blocks import policy

#: 14 days, the longest SQS keeps a message: dead letters wait as long as possible for a human.
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600


def _deny_insecure_transport(resource_arn: pulumi.Input[str], service: str) -> dict:
    # A Deny on every action of the service for requests not made over TLS. A Deny statement
    # names the whole service on purpose: it must cover actions added later too.
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": f"{service}:*",
        "Resource": resource_arn,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def secure_queue(
    name: str,
    opts: pulumi.ResourceOptions,
    senders: Sequence[Tuple[str, pulumi.Input[str]]] = (),
    visibility_timeout_seconds: int = 30,
    retention_seconds: int = DEAD_LETTER_RETENTION_SECONDS,
) -> aws.sqs.Queue:
    """An SQS queue with SSE-SQS encryption and a policy that refuses non-TLS requests.

    ``senders`` lists (service principal, source ARN) pairs allowed to send to it, e.g. an SNS
    subscription or an EventBridge rule using it as a dead-letter queue.
    """
    queue = aws.sqs.Queue(
        name,
        sqs_managed_sse_enabled=True,
        message_retention_seconds=retention_seconds,
        visibility_timeout_seconds=visibility_timeout_seconds,
        opts=opts,
    )
    statements: list = [_deny_insecure_transport(queue.arn, "sqs")]
    for index, (service, source_arn) in enumerate(senders):
        statements.append(
            {
                # Sids must be unique in a policy: a second sender gets its position appended.
                "Sid": f"Allow{service.split('.')[0].capitalize()}" + (str(index) if index else ""),
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sqs:SendMessage",
                "Resource": queue.arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
            }
        )
    aws.sqs.QueuePolicy(
        f"{name}-policy",
        queue_url=queue.id,
        policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
        opts=opts,
    )
    return queue


def dead_letter_queue(
    name: str,
    opts: pulumi.ResourceOptions,
    senders: Sequence[Tuple[str, pulumi.Input[str]]] = (),
) -> aws.sqs.Queue:
    """A :func:`secure_queue` that keeps dead letters 14 days, with an alarm when any message waits in it.

    The alarm (``<name>-messages``) follows the alarm settings of ``opts.parent``
    (:mod:`sfn_patterns.blocks.alarms`) and shows on the stack's dashboard.
    """
    # alarms imports this module (for the alarm topic): imported here to keep the import one-way at load time.
    from sfn_patterns.blocks import alarms

    queue = secure_queue(name, opts, senders=senders, retention_seconds=DEAD_LETTER_RETENTION_SECONDS)
    alarms.dead_letter_alarms(name, queue, opts)
    return queue


def secure_topic(name: str, opts: pulumi.ResourceOptions) -> aws.sns.Topic:
    """An SNS topic encrypted with the AWS managed SNS key, refusing non-TLS publishes."""
    topic = aws.sns.Topic(name, kms_master_key_id="alias/aws/sns", opts=opts)
    aws.sns.TopicPolicy(
        f"{name}-policy",
        arn=topic.arn,
        policy=pulumi.Output.json_dumps(
            {"Version": "2012-10-17", "Statement": [_deny_insecure_transport(topic.arn, "sns")]}
        ),
        opts=opts,
    )
    return topic


def alarm_topic(name: str, opts: pulumi.ResourceOptions, account_id: pulumi.Input[str]) -> aws.sns.Topic:
    """An SNS topic CloudWatch alarms of ``account_id`` can publish to, encrypted and refusing non-TLS requests.

    CloudWatch cannot publish to a topic encrypted with the AWS managed key (``alias/aws/sns``), whose
    policy cannot name it: this topic has its own KMS key (rotated yearly) that lets CloudWatch encrypt.
    """
    account_root = pulumi.Output.concat("arn:aws:iam::", account_id, ":root")
    key = aws.kms.Key(
        f"{name}-key",
        description=f"Encrypts the SNS topic {name} (CloudWatch alarm notifications)",
        enable_key_rotation=True,
        deletion_window_in_days=7,
        policy=pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        # AWS's default key policy statement: the account's IAM policies decide who
                        # administers and uses the key ('*' resource: a key policy names its own key).
                        "Sid": "AccountIamPolicies",
                        "Effect": "Allow",
                        "Principal": {"AWS": account_root},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "CloudWatchAlarmsEncrypt",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudwatch.amazonaws.com"},
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                    },
                ],
            }
        ),
        opts=opts,
    )
    policy.suppress(
        key,
        "IAM-NO-WILDCARD-ACTION",
        "kms:* for the account root is AWS's default key policy statement: it hands the key's access control to the "
        "account's IAM policies (without it the key could become unmanageable); it grants no principal anything by itself",
    )
    topic = aws.sns.Topic(name, kms_master_key_id=key.arn, opts=opts)
    aws.sns.TopicPolicy(
        f"{name}-policy",
        arn=topic.arn,
        policy=pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    _deny_insecure_transport(topic.arn, "sns"),
                    {
                        "Sid": "CloudWatchAlarmsPublish",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudwatch.amazonaws.com"},
                        "Action": "sns:Publish",
                        "Resource": topic.arn,
                        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                    },
                ],
            }
        ),
        opts=opts,
    )
    return topic


def subscribe_lambda(
    name: str,
    topic_arn: pulumi.Input[str],
    function_arn: pulumi.Input[str],
    function_name: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    subscription_name: Optional[str] = None,
) -> tuple[aws.sns.TopicSubscription, aws.sqs.Queue]:
    """Subscribe a Lambda to an SNS topic, with SNS's invoke permission scoped to that topic and a
    redrive policy to an encrypted dead-letter queue only that topic may send to.

    Creates ``<name>-sns`` (permission), ``<name>-sns-dlq`` (queue) and the subscription
    (``subscription_name``, default ``name``). Returns (subscription, dead-letter queue).
    """
    dead_letters = dead_letter_queue(f"{name}-sns-dlq", opts, senders=[("sns.amazonaws.com", topic_arn)])
    permission = aws.lambda_.Permission(
        f"{name}-sns",
        action="lambda:InvokeFunction",
        function=function_name,
        principal="sns.amazonaws.com",
        source_arn=topic_arn,
        opts=opts,
    )
    subscription = aws.sns.TopicSubscription(
        subscription_name or name,
        topic=topic_arn,
        protocol="lambda",
        endpoint=function_arn,
        redrive_policy=pulumi.Output.json_dumps({"deadLetterTargetArn": dead_letters.arn}),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[permission])),
    )
    return subscription, dead_letters


def secure_table(
    name: str,
    opts: pulumi.ResourceOptions,
    hash_key: str,
    ttl_attribute: Optional[str] = None,
    point_in_time_recovery: bool = False,
) -> aws.dynamodb.Table:
    """An on-demand DynamoDB table keyed by one string attribute, encrypted with KMS.

    ``ttl_attribute`` turns on TTL (tables holding task tokens must: a token outlives nothing);
    ``point_in_time_recovery`` is for tables that hold data worth restoring.
    """
    table = aws.dynamodb.Table(
        name,
        billing_mode="PAY_PER_REQUEST",
        hash_key=hash_key,
        attributes=[{"name": hash_key, "type": "S"}],
        server_side_encryption={"enabled": True},
        ttl={"attribute_name": ttl_attribute, "enabled": True} if ttl_attribute else None,
        point_in_time_recovery={"enabled": point_in_time_recovery},
        opts=opts,
    )
    policy.suppress(table, "CKV_AWS_119", policy.TOKEN_TABLE_EXCEPTIONS["CKV_AWS_119"])
    if not point_in_time_recovery:
        policy.suppress(table, "CKV_AWS_28", policy.TOKEN_TABLE_EXCEPTIONS["CKV_AWS_28"])
    return table
