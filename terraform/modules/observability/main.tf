data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
# The region name is read as .id: the same in provider 5.x and 6.x (6.x deprecates .name; 5.x has no .region).
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.id
  partition  = data.aws_partition.current.partition
}

# ---------------------------------------------------------------- the generated JSON, checked

module "specs" {
  source   = "../alarm_specs"
  for_each = var.pipelines

  alarms_file    = each.value.alarms_file
  dashboard_file = each.value.dashboard_file
  environment    = var.environment
  region         = local.region
  namespace      = var.namespace
  name_prefix    = var.alarm_name_prefix
  severities     = var.severities
  # for the dashboard: the alarm-status widget's ARNs, the log widgets' groups (functions are <prefix>-<service>)
  account_id       = local.account_id
  partition        = local.partition
  log_group_prefix = coalesce(var.log_group_prefix, "/aws/lambda/${var.name_prefix}-")
  # the AWS/Lambda and AWS/SQS dimensions: functions and queues are <prefix>-<name> by default
  resource_prefix = coalesce(var.resource_prefix, "${var.name_prefix}-")
}

locals {
  alarms = merge([for p, m in module.specs : { for k, a in m.alarms : k => merge(a, { pipeline = p }) }]...)
}

resource "aws_cloudwatch_dashboard" "this" {
  for_each = var.pipelines

  dashboard_name = "${var.name_prefix}-${each.key}"
  dashboard_body = module.specs[each.key].dashboard_body
}

# ---------------------------------------------------------------- notifications per severity

data "aws_iam_policy_document" "sns_key" {
  count = var.sns_kms_key_arn == null ? 1 : 0

  # Key administration by the account (IAM policies decide who), listed rather than kms:*.
  statement {
    sid = "AccountAdministers"
    actions = [
      "kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation",
      "kms:ListResourceTags", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
      "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:ListAliases",
      "kms:EnableKey", "kms:DisableKey", "kms:ListGrants", "kms:RevokeGrant",
    ]
    resources = ["*"] # in a key policy, "*" is this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"] # in a key policy, "*" is this key
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "SnsUsesKeyForThisAccount"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"] # in a key policy, "*" is this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "sns" {
  count = var.sns_kms_key_arn == null ? 1 : 0

  description             = "${var.name_prefix} alarm topics"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.sns_key[0].json
  tags                    = var.tags
}

resource "aws_kms_alias" "sns" {
  count = var.sns_kms_key_arn == null ? 1 : 0

  name          = "alias/${var.name_prefix}-alarms"
  target_key_id = aws_kms_key.sns[0].key_id
}

resource "aws_sns_topic" "alarms" {
  for_each = toset(var.severities)

  name              = "${var.name_prefix}-alarms-${each.key}"
  kms_master_key_id = coalesce(var.sns_kms_key_arn, try(aws_kms_key.sns[0].arn, null))
  tags              = merge(var.tags, { Severity = each.key })
}

data "aws_iam_policy_document" "topic" {
  for_each = toset(var.severities)

  statement {
    sid       = "CloudWatchAlarmsOfThisAccount"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms[each.key].arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:*"]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  for_each = toset(var.severities)

  arn    = aws_sns_topic.alarms[each.key].arn
  policy = data.aws_iam_policy_document.topic[each.key].json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = { for pair in flatten([for sev, emails in var.notification_emails : [for e in emails : { sev = sev, email = e }]]) : "${pair.sev}:${pair.email}" => pair }

  topic_arn = aws_sns_topic.alarms[each.value.sev].arn
  protocol  = "email"
  endpoint  = each.value.email
}

# ---------------------------------------------------------------- alarms, from the generated specs

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = each.value.alarm_name
  alarm_description   = each.value.description
  comparison_operator = each.value.comparison_operator
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.datapoints_to_alarm
  threshold           = each.value.threshold
  treat_missing_data  = each.value.treat_missing_data
  actions_enabled     = var.alarms_enabled
  alarm_actions       = [aws_sns_topic.alarms[each.value.severity].arn]
  ok_actions          = contains(var.ok_notification_severities, each.value.severity) ? [aws_sns_topic.alarms[each.value.severity].arn] : []

  # A single metric (null for metric-math alarms)...
  metric_name        = each.value.metric_name
  namespace          = each.value.namespace
  period             = each.value.metric_name == null ? null : each.value.period
  statistic          = each.value.statistic
  extended_statistic = each.value.extended_statistic
  dimensions         = each.value.metric_name == null ? null : each.value.dimensions

  # ...or metric math (rates).
  dynamic "metric_query" {
    for_each = each.value.metric_queries
    content {
      id          = metric_query.value.id
      expression  = metric_query.value.expression
      label       = metric_query.value.label
      return_data = metric_query.value.return_data

      dynamic "metric" {
        for_each = metric_query.value.metric == null ? [] : [metric_query.value.metric]
        content {
          metric_name = metric.value.metric_name
          namespace   = metric.value.namespace
          period      = metric.value.period
          stat        = metric.value.stat
          unit        = metric.value.unit
          dimensions  = metric.value.dimensions
        }
      }
    }
  }

  tags = merge(var.tags, { Severity = each.value.severity, Pipeline = each.value.pipeline })
}

# ---------------------------------------------------------------- triage: saved Logs Insights queries

locals {
  queries = {
    "by-correlation-id" = file("${path.module}/queries/by-correlation-id.logsinsights")
    "errors"            = file("${path.module}/queries/errors.logsinsights")
    "throttles"         = file("${path.module}/queries/throttles.logsinsights")
    "quarantined"       = file("${path.module}/queries/quarantined.logsinsights")
  }
}

resource "aws_cloudwatch_query_definition" "triage" {
  for_each = length(var.log_group_names) == 0 ? {} : local.queries

  name            = "${var.name_prefix}/triage/${each.key}"
  log_group_names = var.log_group_names
  query_string    = each.value
}

# ---------------------------------------------------------------- log retention enforcement

resource "aws_config_config_rule" "log_retention" {
  count = var.enforce_retention_with_config ? 1 : 0

  name        = "${var.name_prefix}-log-retention"
  description = "Log groups must keep logs at least ${var.retention_days} days; Terraform sets retention on every group it creates."

  source {
    owner             = "AWS"
    source_identifier = "CW_LOGGROUP_RETENTION_PERIOD_CHECK"
  }

  input_parameters = jsonencode({ MinRetentionTime = tostring(var.retention_days) })
  tags             = var.tags
}
