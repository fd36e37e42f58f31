# Dashboards, alarms, their SNS topics and the triage queries, from the JSON that
# `observe dashboards build` writes (the samples in tests/infra/fixtures), against the mock provider.

mock_provider "aws" {
  source          = "../../mocks"
  override_during = plan

  override_resource {
    target = aws_sns_topic.alarms["critical"]
    values = { arn = "arn:aws:sns:ap-southeast-1:123456789012:acme-stg-alarms-critical" }
  }
  override_resource {
    target = aws_sns_topic.alarms["warning"]
    values = { arn = "arn:aws:sns:ap-southeast-1:123456789012:acme-stg-alarms-warning" }
  }
  override_resource {
    target = aws_sns_topic.alarms["info"]
    values = { arn = "arn:aws:sns:ap-southeast-1:123456789012:acme-stg-alarms-info" }
  }
}

variables {
  name_prefix       = "acme-stg"
  alarm_name_prefix = "acme"
  environment       = "stg"
  pipelines = {
    ingest = {
      dashboard_file = "../../../tests/infra/fixtures/ingest.dashboard.json"
      alarms_file    = "../../../tests/infra/fixtures/ingest.alarms.json"
    }
    auth = {
      dashboard_file = "../../../tests/infra/fixtures/auth.dashboard.json"
      alarms_file    = "../../../tests/infra/fixtures/auth.alarms.json"
    }
  }
  notification_emails = {
    critical = ["oncall@example.com"]
    warning  = ["team@example.com", "oncall@example.com"]
  }
  log_group_names = ["/aws/lambda/acme-stg-ingest-worker", "/aws/lambda/acme-stg-ingest-scheduler"]
}

run "stg_observability" {
  command = plan

  # ---- dashboards, decoded
  assert {
    condition     = keys(aws_cloudwatch_dashboard.this) == ["auth", "ingest"] && aws_cloudwatch_dashboard.this["ingest"].dashboard_name == "acme-stg-ingest"
    error_message = "one dashboard per pipeline"
  }
  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.this["ingest"].dashboard_body).widgets) == 2 && length(jsondecode(aws_cloudwatch_dashboard.this["auth"].dashboard_body).widgets) == 1
    error_message = "every widget of the generated body is deployed"
  }
  assert {
    condition     = alltrue([for d in aws_cloudwatch_dashboard.this : alltrue([for w in jsondecode(d.dashboard_body).widgets : w.properties.region == "ap-southeast-1" if w.type == "metric"])])
    error_message = "every metric widget is in the provider's region (data.aws_region.current.id)"
  }
  assert {
    condition     = alltrue([for d in aws_cloudwatch_dashboard.this : alltrue(flatten([for w in jsondecode(d.dashboard_body).widgets : [for m in w.properties.metrics : contains(["DataPipelines", "..."], m[0])] if w.type == "metric"]))])
    error_message = "every metric reads the namespace the functions write"
  }
  assert {
    condition     = alltrue([for d in aws_cloudwatch_dashboard.this : !strcontains(d.dashboard_body, "$${environment}") && !strcontains(d.dashboard_body, "$${region}") && !strcontains(d.dashboard_body, "$${namespace}")])
    error_message = "no placeholder is left"
  }
  assert {
    condition     = strcontains(jsondecode(aws_cloudwatch_dashboard.this["ingest"].dashboard_body).widgets[0].properties.markdown, "(stg)")
    error_message = "the environment is substituted into text widgets too"
  }

  # ---- alarms and their actions per severity
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 4 && alltrue([for a in aws_cloudwatch_metric_alarm.this : endswith(a.alarm_name, "-stg") && startswith(a.alarm_name, "acme-")])
    error_message = "every alarm of both files, named for the project and the environment"
  }
  assert {
    condition     = alltrue([for k, a in aws_cloudwatch_metric_alarm.this : a.alarm_actions == toset([aws_sns_topic.alarms[local.alarms[k].severity].arn])])
    error_message = "each alarm notifies the topic of its severity, and only that one"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["ingest-worker-ErrorRate-stg"].alarm_actions == toset(["arn:aws:sns:ap-southeast-1:123456789012:acme-stg-alarms-critical"]) && aws_cloudwatch_metric_alarm.this["ingest-worker-Throttles-stg"].alarm_actions == toset(["arn:aws:sns:ap-southeast-1:123456789012:acme-stg-alarms-warning"])
    error_message = "ErrorRate pages (critical), Throttles warns"
  }
  assert {
    condition     = alltrue([for k, a in aws_cloudwatch_metric_alarm.this : length(a.ok_actions) == (local.alarms[k].severity == "critical" ? 1 : 0) && a.actions_enabled])
    error_message = "only critical alarms report their return to OK; actions are on"
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this["ingest-worker-ErrorRate-stg"].metric_query) == 3 && aws_cloudwatch_metric_alarm.this["ingest-worker-ErrorRate-stg"].metric_name == null
    error_message = "rates are metric math"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["ingest-worker-Duration-stg"].extended_statistic == "p99" && aws_cloudwatch_metric_alarm.this["ingest-worker-Duration-stg"].dimensions == tomap({ service = "ingest-worker", pipeline = "ingest", environment = "stg" })
    error_message = "a percentile alarm keeps its statistic and dimensions"
  }

  # ---- topics
  assert {
    condition     = keys(aws_sns_topic.alarms) == ["critical", "info", "warning"] && alltrue([for t in aws_sns_topic.alarms : t.kms_master_key_id == aws_kms_key.sns[0].arn])
    error_message = "one topic per severity, encrypted with the module's key (CloudWatch cannot use aws/sns)"
  }
  assert {
    condition     = aws_kms_key.sns[0].enable_key_rotation && toset([for s in data.aws_iam_policy_document.sns_key[0].statement : s.sid]) == toset(["AccountAdministers", "CloudWatchAlarmsPublish", "SnsUsesKeyForThisAccount"])
    error_message = "the key rotates and its policy names who uses it"
  }
  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.sns_key[0].statement : alltrue([for a in s.actions : !strcontains(a, "*")])])
    error_message = "the key policy lists its actions (no kms:*)"
  }
  assert {
    condition     = one(data.aws_iam_policy_document.topic["critical"].statement[0].condition).values == tolist(["arn:aws:cloudwatch:ap-southeast-1:123456789012:alarm:*"]) && data.aws_iam_policy_document.topic["critical"].statement[0].resources == toset([aws_sns_topic.alarms["critical"].arn])
    error_message = "only this account's alarms in this region may publish, to this topic"
  }
  assert {
    condition     = toset(keys(aws_sns_topic_subscription.email)) == toset(["critical:oncall@example.com", "warning:team@example.com", "warning:oncall@example.com"]) && aws_sns_topic_subscription.email["warning:team@example.com"].topic_arn == aws_sns_topic.alarms["warning"].arn
    error_message = "e-mail subscribers per severity"
  }

  # ---- triage queries, retention rule
  assert {
    condition     = length(aws_cloudwatch_query_definition.triage) == 4 && alltrue([for q in aws_cloudwatch_query_definition.triage : q.log_group_names == tolist(var.log_group_names) && startswith(q.name, "acme-stg/triage/")])
    error_message = "four saved triage queries over the pipelines' log groups"
  }
  assert {
    condition     = length(aws_config_config_rule.log_retention) == 0
    error_message = "no AWS Config rule unless asked (it needs a recorder)"
  }
}

run "dev_alarms_stay_quiet_and_prd_enforces_retention" {
  command = plan

  variables {
    environment                   = "prd"
    name_prefix                   = "acme-prd"
    alarms_enabled                = false
    enforce_retention_with_config = true
    retention_days                = 90
    sns_kms_key_arn               = "arn:aws:kms:ap-southeast-1:123456789012:key/12121212-3434-5656-7878-909090909090"
  }

  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.this : !a.actions_enabled && endswith(a.alarm_name, "-prd")])
    error_message = "alarms exist but do not notify when disabled"
  }
  assert {
    condition     = jsondecode(aws_config_config_rule.log_retention[0].input_parameters) == { MinRetentionTime = "90" } && aws_config_config_rule.log_retention[0].source[0].source_identifier == "CW_LOGGROUP_RETENTION_PERIOD_CHECK"
    error_message = "AWS Config reports log groups kept less than the environment's retention"
  }
  assert {
    condition     = length(aws_kms_key.sns) == 0 && alltrue([for t in aws_sns_topic.alarms : t.kms_master_key_id == var.sns_kms_key_arn])
    error_message = "a given key replaces the module's own"
  }
}
