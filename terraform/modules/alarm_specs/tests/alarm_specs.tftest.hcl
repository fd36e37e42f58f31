# The JSON contract with dashboards/, checked offline on the samples in tests/infra/fixtures and on
# one broken file per rule (each run below would pass if its rule were removed: it must fail).

variables {
  environment = "stg"
  region      = "ap-southeast-1"
  namespace   = "DataPipelines"
  name_prefix = "pipelines"
}

run "sample_is_normalised_and_substituted" {
  command = plan

  variables {
    alarms_file    = "../../../tests/infra/fixtures/ingest.alarms.json"
    dashboard_file = "../../../tests/infra/fixtures/ingest.dashboard.json"
  }

  assert {
    condition     = length(output.alarms) == 3
    error_message = "three alarms in the sample"
  }
  assert {
    condition     = output.alarms["ingest-worker-Throttles-stg"].alarm_name == "pipelines-ingest-worker-Throttles-stg"
    error_message = "names are substituted and prefixed"
  }
  assert {
    condition     = output.alarms["ingest-worker-Throttles-stg"].dimensions == tomap({ service = "ingest-worker", pipeline = "ingest", environment = "stg" })
    error_message = "dimension values are substituted"
  }
  assert {
    condition     = output.alarms["ingest-worker-Throttles-stg"].namespace == "DataPipelines"
    error_message = "namespace is substituted"
  }
  assert {
    condition     = output.alarms["ingest-worker-Duration-stg"].extended_statistic == "p99" && output.alarms["ingest-worker-Duration-stg"].statistic == null
    error_message = "percentile alarms keep extended_statistic and no statistic"
  }
  assert {
    condition     = output.alarms["ingest-worker-ErrorRate-stg"].metric_name == null && length(output.alarms["ingest-worker-ErrorRate-stg"].metric_queries) == 3
    error_message = "rate alarms are metric math"
  }
  assert {
    condition     = output.alarms["ingest-worker-ErrorRate-stg"].metric_queries[0].metric.namespace == "DataPipelines"
    error_message = "placeholders inside metric queries are substituted"
  }
  assert {
    condition     = output.alarms["ingest-worker-ErrorRate-stg"].metric_queries[2].metric == null && output.alarms["ingest-worker-ErrorRate-stg"].metric_queries[2].return_data
    error_message = "the expression query returns the data and has no metric"
  }
  assert {
    condition     = toset(output.severities) == toset(["critical", "warning", "info"])
    error_message = "severities used by the sample"
  }
  assert {
    condition     = jsondecode(output.dashboard_body).widgets[1].properties.region == "ap-southeast-1"
    error_message = "region is substituted in the dashboard"
  }
  assert {
    condition     = jsondecode(output.dashboard_body).widgets[1].properties.metrics[0][8].label == "p99 $${LAST}"
    error_message = "CloudWatch dynamic labels pass through untouched"
  }
  assert {
    condition     = !strcontains(output.dashboard_body, "$${environment}") && !strcontains(output.dashboard_body, "$${namespace}")
    error_message = "no contract placeholder is left in the dashboard"
  }
}

run "dashboard_names_its_alarms_and_log_groups" {
  command = plan

  variables {
    alarms_file      = "../../../tests/infra/fixtures/ingest.alarms.json"
    dashboard_file   = "../../../tests/infra/fixtures/status.dashboard.json"
    account_id       = "123456789012"
    log_group_prefix = "/aws/lambda/pipelines-stg-"
  }

  assert {
    condition     = jsondecode(output.dashboard_body).widgets[0].properties.alarms[0] == "arn:aws:cloudwatch:ap-southeast-1:123456789012:alarm:pipelines-ingest-worker-Throttles-stg"
    error_message = "the alarm-status widget names each alarm by its full ARN, prefix included"
  }
  assert {
    condition     = jsondecode(output.dashboard_body).widgets[1].properties.query == "SOURCE '/aws/lambda/pipelines-stg-ingest-worker' | fields @timestamp"
    error_message = "the log widget queries the service's log group"
  }
}

run "aws_metrics_name_the_deployed_functions_and_queues" {
  command = plan

  variables {
    alarms_file     = "../../../tests/infra/fixtures/aws.alarms.json"
    resource_prefix = "pipelines-stg-"
  }

  assert {
    condition     = output.alarms["ingest-tasks-dlq-MessagesVisible-stg"].dimensions == tomap({ QueueName = "pipelines-stg-ingest-tasks-dlq" })
    error_message = "a queue's dimension is its deployed name"
  }
  assert {
    condition     = output.alarms["ingest-tasks-dlq-MessagesVisible-stg"].namespace == "AWS/SQS" && output.alarms["ingest-tasks-dlq-MessagesVisible-stg"].statistic == "Maximum"
    error_message = "an AWS metric keeps its own namespace"
  }
  assert {
    condition     = output.alarms["ingest-worker-LambdaDuration-stg"].dimensions == tomap({ FunctionName = "pipelines-stg-ingest-worker" }) && output.alarms["ingest-worker-LambdaDuration-stg"].extended_statistic == "p99"
    error_message = "a function's dimension is its deployed name"
  }
}

run "bad_severity" {
  command = plan
  variables {
    alarms_file = "../../../tests/infra/fixtures/broken/bad_severity.alarms.json"
  }
  expect_failures = [output.alarms]
}

run "duplicate_name" {
  command = plan
  variables {
    alarms_file = "../../../tests/infra/fixtures/broken/duplicate_name.alarms.json"
  }
  expect_failures = [output.alarms]
}

run "two_return_data" {
  command = plan
  variables {
    alarms_file = "../../../tests/infra/fixtures/broken/two_return_data.alarms.json"
  }
  expect_failures = [output.alarms]
}

run "two_statistics" {
  command = plan
  variables {
    alarms_file = "../../../tests/infra/fixtures/broken/two_statistics.alarms.json"
  }
  expect_failures = [output.alarms]
}

run "no_metric" {
  command = plan
  variables {
    alarms_file = "../../../tests/infra/fixtures/broken/no_metric.alarms.json"
  }
  expect_failures = [output.alarms]
}

run "unknown_placeholder" {
  command = plan
  variables {
    alarms_file = "../../../tests/infra/fixtures/broken/unknown_placeholder.alarms.json"
  }
  expect_failures = [output.alarms]
}

run "bad_operator" {
  command = plan
  variables {
    alarms_file = "../../../tests/infra/fixtures/broken/bad_operator.alarms.json"
  }
  expect_failures = [output.alarms]
}

run "not_a_list" {
  command = plan
  variables {
    # a dashboard body is an object, not a list of alarms
    alarms_file = "../../../tests/infra/fixtures/ingest.dashboard.json"
  }
  expect_failures = [output.alarms]
}

run "dashboard_must_have_widgets" {
  command = plan
  variables {
    alarms_file    = "../../../tests/infra/fixtures/auth.alarms.json"
    dashboard_file = "../../../tests/infra/fixtures/auth.alarms.json"
  }
  expect_failures = [output.dashboard_body]
}
